//! CapMin's selection policy called as a library (`neuro::capmin::study`), on the committed
//! model: the choices obey their targets, and "first within the loss" is the smallest
//! candidate that meets it, every smaller one failing.

use neurospice::neuro::capmin::study::{self, Target};
use neurospice::neuro::capmin::{
    Physics, Protection, Rule, capacitance_f, expected_error, most_frequent,
};
use std::path::Path;

fn setup() -> study::Setup {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    study::setup(
        &root.join("models/bnn_mnist.json"),
        &root.join("data/mnist_4k.csv.gz"),
        None,
    )
    .expect("committed model and data")
}

#[test]
fn keep_k_takes_the_least_level_error_set_of_at_most_k_levels() {
    let s = setup();
    let freq = s.frequencies();
    let phys = Physics::default();
    let sel = study::select(&s, &freq, &phys, Target::Keep(20)).unwrap();
    assert_eq!(sel.chosen.len(), 2);
    for c in &sel.chosen {
        assert!(c.levels.len() <= 20, "{} keeps {:?}", c.rule, c.levels);
        assert_eq!(
            c.capacitance_f,
            capacitance_f(&c.levels, Protection::NONE, &phys)
        );
        assert_eq!(c.accuracy, study::lut_accuracy(&s, &c.levels).unwrap());
    }
    // adding a kept level never increases the nearest-level error, so the frequent rule's
    // best set of at most 20 levels is its 20 most frequent ones
    let f = sel.of(Rule::Frequent);
    assert_eq!(f.levels, most_frequent(&freq, 20));
    let all = study::all_levels(s.net.array_size);
    assert_eq!(
        sel.baseline_accuracy,
        study::lut_accuracy(&s, &all).unwrap()
    );
    assert_eq!(expected_error(&all, &freq), 0.0);
}

#[test]
fn first_within_takes_the_smallest_candidate_within_the_loss() {
    let s = setup();
    let freq = s.frequencies();
    let phys = Physics::default();
    let loss = 0.01;
    let base = study::lut_accuracy(&s, &study::all_levels(s.net.array_size)).unwrap();
    let cands = study::candidates(Rule::Frequent, &freq, Protection::NONE);
    let f = study::first_within(
        &s,
        Rule::Frequent,
        &cands,
        base,
        loss,
        Protection::NONE,
        &phys,
    )
    .unwrap();
    assert!(f.meets_loss);
    assert!(f.accuracy >= base - loss - 1e-12);
    // every frequent candidate before the chosen one (fewer levels) misses the target
    let at = cands.iter().position(|c| *c == f.levels).unwrap();
    for c in &cands[..at] {
        let acc = study::lut_accuracy(&s, c).unwrap();
        assert!(acc < base - loss, "{c:?}: {acc}");
    }
    // a loss no candidate meets: the most accurate candidate, flagged
    let none = study::first_within(
        &s,
        Rule::Frequent,
        &cands[..3],
        base,
        0.0,
        Protection::NONE,
        &phys,
    )
    .unwrap();
    assert!(!none.meets_loss);
}
