//! Records when the binary was built, for `-v` and server-status ("Server Built"), in httpd's
//! `__DATE__ __TIME__` form. `SOURCE_DATE_EPOCH` makes it reproducible.

use eventmpm_core::calendar::DateTime;

fn main() {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    let d = DateTime::from_unix(secs);
    println!(
        "cargo:rustc-env=EVENTMPM_BUILT={} {:>2} {} {:02}:{:02}:{:02}",
        d.month_name(),
        d.day,
        d.year,
        d.hour,
        d.minute,
        d.second
    );
}
