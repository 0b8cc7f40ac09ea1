from rewardsmith.seeding import derive_seed, derive_seeds


def test_derived_seeds_are_stable_and_distinct() -> None:
    assert derive_seed(0, 1, 2) == derive_seed(0, 1, 2)
    assert derive_seed(0, 1, 2) != derive_seed(0, 2, 1)
    assert derive_seed(0, 1) != derive_seed(1, 1)
    seeds = derive_seeds(5, 4, 99)
    assert len(set(seeds)) == 4
    assert all(0 <= s < 2**31 for s in seeds)
