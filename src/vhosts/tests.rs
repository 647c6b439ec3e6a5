//! Host selection by httpd's rules, table-driven, and the `-S` table.

use super::*;
use crate::config::{Options, read};

/// The configuration `text` (written to a scratch file) and its host table.
fn table(text: &str) -> HostTable {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("eventmpm-vhosts-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("v.conf");
    std::fs::write(&f, text).unwrap();
    let cfg = read(&Options {
        file: Some(f),
        server_root: Some(dir.clone()),
        ..Options::default()
    });
    std::fs::remove_dir_all(&dir).unwrap();
    HostTable::new(&cfg.unwrap())
}

fn at(addr: &str) -> SocketAddr {
    addr.parse().unwrap()
}

const NAMED: &str = "ServerName main.test\n\
    <VirtualHost *:80>\nServerName one.test\nServerAlias www.one.test *.one.example\n</VirtualHost>\n\
    <VirtualHost *:80>\nServerName Two.Test\nServerAlias two-?.test\n</VirtualHost>\n\
    <VirtualHost 127.0.0.2:80>\nServerName ip.test\n</VirtualHost>\n\
    <VirtualHost 127.0.0.3:80>\nServerName a.test\n</VirtualHost>\n\
    <VirtualHost 127.0.0.3:80>\nServerName b.test\n</VirtualHost>\n\
    <VirtualHost *:*>\nServerName anyport.test\n</VirtualHost>\n\
    <VirtualHost 127.0.0.4:*>\nServerName ip-anyport.test\n</VirtualHost>\n";

#[test]
fn hosts_are_chosen_as_httpd_chooses_them() {
    let t = table(NAMED);
    assert_eq!(t.hosts(), 8);
    for (local, host, want, why) in [
        ("127.0.0.1:80", Some("one.test"), 1, "ServerName"),
        (
            "127.0.0.1:80",
            Some("two.test"),
            2,
            "ServerName, case-insensitive",
        ),
        (
            "127.0.0.1:80",
            Some("TWO.TEST"),
            2,
            "Host, case-insensitive",
        ),
        ("127.0.0.1:80", Some("two.test."), 2, "trailing dot"),
        (
            "127.0.0.1:80",
            Some("two.test:8080"),
            2,
            "the Host port is ignored",
        ),
        ("127.0.0.1:80", Some("www.one.test"), 1, "ServerAlias"),
        (
            "127.0.0.1:80",
            Some("deep.sub.one.example"),
            1,
            "wildcard alias",
        ),
        ("127.0.0.1:80", Some("two-x.test"), 2, "? alias"),
        (
            "127.0.0.1:80",
            Some("two-xy.test"),
            1,
            "? is one character: default",
        ),
        (
            "127.0.0.1:80",
            Some("unknown.test"),
            1,
            "unknown: first host is default",
        ),
        ("127.0.0.1:80", None, 1, "no Host: default"),
        ("127.0.0.1:80", Some(""), 1, "empty Host: default"),
        (
            "127.0.0.1:80",
            Some("main.test"),
            1,
            "the main ServerName is not a vhost's",
        ),
        (
            "127.0.0.1:80",
            Some("*"),
            1,
            "the address text matches the first host written so",
        ),
        (
            "[::ffff:127.0.0.1]:80",
            Some("two.test"),
            2,
            "v4-mapped local address",
        ),
        (
            "127.0.0.2:80",
            Some("one.test"),
            3,
            "an exact address is IP-based: names ignored",
        ),
        ("127.0.0.2:80", None, 3, "IP-based without Host"),
        (
            "127.0.0.3:80",
            Some("b.test"),
            5,
            "name-based on one address",
        ),
        (
            "127.0.0.3:80",
            Some("one.test"),
            4,
            "*:80 hosts are not on 127.0.0.3's chain",
        ),
        (
            "127.0.0.3:80",
            Some("127.0.0.3"),
            4,
            "address text: first host written so",
        ),
        (
            "127.0.0.1:81",
            Some("one.test"),
            6,
            "another port: the *:* host",
        ),
        ("127.0.0.4:9999", Some("x"), 7, "address with any port"),
        ("127.0.0.4:80", Some("x"), 7, "exact address beats *:80"),
        (
            "[::1]:80",
            Some("two.test"),
            2,
            "IPv6 local address, wildcard chain",
        ),
    ] {
        assert_eq!(t.choose(at(local), host), want, "{why}: {local} {host:?}");
    }
}

#[test]
fn without_a_matching_chain_the_main_server_answers() {
    let t = table("<VirtualHost 127.0.0.2:80>\nServerName ip.test\n</VirtualHost>\n");
    assert_eq!(t.choose(at("127.0.0.1:80"), Some("ip.test")), 0);
    assert_eq!(t.choose(at("127.0.0.2:8080"), Some("ip.test")), 0);
    assert_eq!(t.choose(at("127.0.0.2:80"), None), 1);
    let none = table("ServerName x\n");
    assert_eq!(none.choose(at("127.0.0.1:80"), Some("x")), 0);
    assert_eq!(none.hosts(), 1);
}

#[test]
fn a_host_without_servername_takes_the_main_name_or_its_address() {
    let t = table(
        "ServerName main.test\n<VirtualHost *:80>\n</VirtualHost>\n\
         <VirtualHost 127.0.0.9:80>\n</VirtualHost>\n",
    );
    assert_eq!(t.server_name(1), "main.test");
    assert_eq!(t.server_name(2), "127.0.0.9");
    assert_eq!(t.server_name(0), "main.test");
}

#[test]
fn the_dump_has_httpds_layout() {
    let t = table(
        "ServerName main.test\n<VirtualHost *:80>\nServerName one.test\n</VirtualHost>\n\
         <VirtualHost *:80>\nServerName two.test\nServerAlias www.two.test *.two.test\n</VirtualHost>\n\
         <VirtualHost 127.0.0.2:8080>\nServerName ip.test\n</VirtualHost>\n\
         <VirtualHost *>\nServerName any.test\n</VirtualHost>\n",
    );
    let dump = t.dump();
    let file = dump
        .lines()
        .nth(1)
        .and_then(|l| l.split_once('('))
        .map(|(_, f)| f.rsplit_once(':').unwrap().0.to_string())
        .unwrap();
    let expected = format!(
        "VirtualHost configuration:\n\
         127.0.0.2:8080         ip.test ({file}:9)\n\
         *:80                   is a NameVirtualHost\n\
         \x20        default server one.test ({file}:2)\n\
         \x20        port 80 namevhost one.test ({file}:2)\n\
         \x20        port 80 namevhost two.test ({file}:5)\n\
         \x20                alias www.two.test\n\
         \x20                wild alias *.two.test\n\
         *:*                    any.test ({file}:12)\n"
    );
    assert_eq!(dump, expected);
}

#[test]
fn wildcards_match_like_ap_strcasecmp_match() {
    for (p, s, want) in [
        ("*.example.org", "www.example.org", true),
        ("*.example.org", "WWW.Example.ORG", true),
        ("*.example.org", "example.org", false),
        ("www?.test", "www1.test", true),
        ("www?.test", "www.test", false),
        ("*", "", true),
        ("a*b*c", "axxbyyc", true),
        ("a*b*c", "axxbyy", false),
    ] {
        assert_eq!(wild_match(p.as_bytes(), s.as_bytes()), want, "{p} vs {s}");
    }
    assert_eq!(bare_name("Example.com.:80"), "Example.com");
    assert_eq!(bare_name("[::1]:80"), "::1");
    assert_eq!(bare_name("host"), "host");
}

#[test]
fn exact_addresses_are_dumped_in_httpds_hash_order() {
    let t = table(
        "<VirtualHost 127.0.0.1:80>\nServerName a\n</VirtualHost>\n\
         <VirtualHost 127.0.0.2:80>\nServerName b\n</VirtualHost>\n\
         <VirtualHost [::1]:80>\nServerName c\n</VirtualHost>\n",
    );
    let dump = t.dump();
    let order: Vec<&str> = dump
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    // Their buckets: ::1 is 1, 127.0.0.2 is 125, 127.0.0.1 is 126, as `apache2 -S` lists them
    // (the same in either byte order for these addresses).
    assert_eq!(order, ["c", "b", "a"]);
    assert_eq!(hash_bucket("127.0.0.1".parse().unwrap()), 126);
    assert_eq!(hash_bucket("::1".parse().unwrap()), 1);
}

#[test]
fn name_based_means_two_or_more_hosts_on_the_address() {
    let t = table(NAMED);
    assert!(t.name_based(at("127.0.0.1:80")), "two *:80 hosts");
    assert!(t.name_based(at("127.0.0.3:80")), "two on 127.0.0.3:80");
    assert!(!t.name_based(at("127.0.0.2:80")), "one IP-based host");
    assert!(!t.name_based(at("127.0.0.4:81")), "one host for any port");
    let main_only = table("ServerName main.test\n");
    assert!(
        !main_only.name_based(at("127.0.0.1:80")),
        "the main server alone"
    );
}
