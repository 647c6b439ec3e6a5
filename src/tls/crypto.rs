//! The cryptography under rustls, chosen per target: aws-lc-rs on x86-64 Linux (glibc), ring
//! everywhere else.
//!
//! Why two: a full handshake is one signature with the server's key, and with Debian's RSA 2048
//! snakeoil (and most certificates in use) that signature is most of the handshake's cost.
//! AWS-LC signs RSA 2048 1.7 times as fast as ring on x86-64 (3,392 against 1,994 signatures a
//! second on the reference machine, where OpenSSL, and so nginx and Apache, reach 3,396: the
//! AVX-512 IFMA and ADX code ring lacks), and it offers the post-quantum key exchange
//! (X25519MLKEM768) rustls now deprecates ring for not having. ring builds with a C compiler
//! alone on every target `ci/cross` covers (MIPS, s390x, the BSDs, illumos); AWS-LC's C build
//! is larger and slower and is only needed where servers are measured against OpenSSL. The
//! choice is Cargo.toml's target-specific `rustls` features; the cfg below repeats it.

#[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
mod chosen {
    pub use rustls::crypto::aws_lc_rs::{Ticketer, cipher_suite, default_provider};
    /// Shown by `-V`.
    pub const NAME: &str = "aws-lc-rs";
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu")))]
mod chosen {
    pub use rustls::crypto::ring::{Ticketer, cipher_suite};
    /// Shown by `-V`.
    pub const NAME: &str = "ring";

    /// rustls 0.23.48 deprecates ring's provider for lacking post-quantum key exchange; ring is
    /// kept where AWS-LC is not built (module docs).
    pub fn default_provider() -> rustls::crypto::CryptoProvider {
        #[allow(deprecated)]
        rustls::crypto::ring::default_provider()
    }
}

pub use chosen::*;
