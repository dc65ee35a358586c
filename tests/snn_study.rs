//! The split guard of `snn eval`/`sweep` as a library call (`neuro::snn::study::select`): the
//! model's held-out digits are found again in its training file, and a train/test split of
//! any other data is refused, so training digits cannot be reported as held-out ones. Without
//! a split, the training file gives its held-out digits and any other file all of its digits.

use neurospice::neuro::snn::data::{self, Split};
use neurospice::neuro::snn::model::Network;
use neurospice::neuro::snn::study::select;
use std::path::Path;

#[test]
fn held_out_split_only_of_the_training_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let net = Network::load(&root.join("models/bnn_mnist.json")).unwrap();
    let d = data::load(&root.join("data/mnist_4k.csv.gz"), None).unwrap();
    let n = d.len();
    let test = select(&net, d.clone(), Some(Split::Test)).unwrap();
    let train = select(&net, d.clone(), Some(Split::Train)).unwrap();
    assert_eq!(test.data.len() + train.data.len(), n);
    assert_eq!(test.data.len(), 800);
    // default on the training file: its held-out digits, not flagged as foreign
    let own = select(&net, d.clone(), None).unwrap();
    assert!(!own.foreign_whole);
    assert_eq!(own.data.labels, test.data.labels);
    // the same digits minus one are another file: its split does not apply
    let other = d.subset(&(1..n).collect::<Vec<_>>());
    let e = select(&net, other.clone(), Some(Split::Test)).unwrap_err();
    assert!(e.msg.contains("--split all"), "{e}");
    assert!(select(&net, other.clone(), Some(Split::Train)).is_err());
    let whole = select(&net, other.clone(), None).unwrap();
    assert!(whole.foreign_whole);
    assert_eq!(whole.data.len(), n - 1);
    assert_eq!(
        select(&net, other, Some(Split::All)).unwrap().data.len(),
        n - 1
    );
}
