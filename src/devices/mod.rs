pub mod ekv;
