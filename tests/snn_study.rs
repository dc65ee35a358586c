//! The split guard of `snn eval`/`sweep` as a library call (`neuro::snn::study::select`): the
//! model's held-out digits are found again in its training file, and a train/test split of
//! any other data is refused, so training digits cannot be reported as held-out ones.

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
    let test = select(&net, d.clone(), Split::Test).unwrap();
    let train = select(&net, d.clone(), Split::Train).unwrap();
    assert_eq!(test.len() + train.len(), n);
    assert_eq!(test.len(), 800);
    // the same digits minus one are another file: its split does not apply
    let other = d.subset(&(1..n).collect::<Vec<_>>());
    let e = select(&net, other.clone(), Split::Test).unwrap_err();
    assert!(e.msg.contains("--split all"), "{e}");
    assert!(select(&net, other.clone(), Split::Train).is_err());
    assert_eq!(select(&net, other, Split::All).unwrap().len(), n - 1);
}
