//! The checker can fail: a listener or workers broken on purpose trip the invariant that guards
//! against that bug, with the seed and a trace in the message.

use eventmpm_sim::{Sabotage, SimConfig, run};

/// The first seed in 0..400 on which `sabotage` is caught, and the failure's text.
fn caught(sabotage: Sabotage) -> (u64, String) {
    let config = SimConfig {
        sabotage: Some(sabotage),
        ..SimConfig::default()
    };
    for seed in 0..400 {
        if let Err(f) = run(seed, &config) {
            assert_eq!(f.seed, seed);
            return (seed, f.to_string());
        }
    }
    panic!("{sabotage:?} was never caught");
}

fn assert_caught(sabotage: Sabotage, invariant: &str) {
    let (seed, text) = caught(sabotage);
    assert!(
        text.contains(invariant),
        "{sabotage:?} (seed {seed}) tripped another invariant:\n{text}"
    );
    assert!(
        text.starts_with(&format!("seed {seed} failed at step ")),
        "{text}"
    );
    assert!(text.contains("last "), "a trace follows: {text}");
    // The same seed fails the same way: runs are deterministic.
    let config = SimConfig {
        sabotage: Some(sabotage),
        ..SimConfig::default()
    };
    assert_eq!(run(seed, &config).unwrap_err().to_string(), text);
}

#[test]
fn a_listener_that_never_expires_is_caught() {
    assert_caught(Sabotage::SkipExpire, "and still open");
}

#[test]
fn dispatching_partial_heads_is_caught() {
    assert_caught(
        Sabotage::DispatchPartialHeads,
        "whose request head is not complete in its buffer",
    );
}

#[test]
fn accepting_past_admission_is_caught() {
    assert_caught(Sabotage::IgnoreAdmission, "admission bound exceeded");
}

#[test]
fn keep_alive_after_the_stop_is_caught() {
    assert_caught(
        Sabotage::KeepAliveAfterStop,
        "decided after the graceful stop advertises keep-alive",
    );
}

#[test]
fn a_lost_connection_is_caught() {
    assert_caught(Sabotage::LoseHandback, "lost or duplicated");
}

#[test]
fn runs_are_reproducible() {
    for seed in [0, 17, 4242] {
        let config = SimConfig::default();
        assert_eq!(run(seed, &config), run(seed, &config));
    }
}

#[test]
fn the_unbroken_loop_passes_the_same_seeds() {
    for seed in 0..400 {
        if let Err(f) = run(seed, &SimConfig::default()) {
            panic!("{f}");
        }
    }
}
