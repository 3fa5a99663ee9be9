//! Integration tests, compiled as one binary (faster to build and link than
//! one per file). Tests that talk to EC2 start moto via `support::moto`.

mod support;

mod accounts;
mod action;
mod adopt;
mod bad_input;
mod balancers;
mod cli_help;
mod crash;
mod disks;
mod engine;
mod environments;
mod faults;
mod github_fake;
mod hostile;
mod hostile_files;
mod hostile_render;
mod iam_conditions;
mod iam_docs;
mod iam_moto;
mod images;
mod import;
mod import_balancers;
mod layers;
mod moto_smoke;
mod release;
mod rerun;
mod review;
mod rules;
mod scale;
mod sequence;
mod servers;
mod tags;
mod test_merge;
mod throttling;
mod trust;
mod website;
mod workflows;
