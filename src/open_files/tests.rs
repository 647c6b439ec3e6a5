//! The cache on a fake clock, over real files in a scratch DocumentRoot.

use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::open_file::tests::Tree;
use super::*;

const SEC: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `/f0.txt` … `/f{n-1}.txt`, file `i` holding `i + 1` bytes, so a size tells which file it is.
fn files(t: &Tree, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let name = format!("f{i}.txt");
            t.write(&name, &vec![b'a' + (i % 26) as u8; i + 1]);
            format!("/{name}")
        })
        .collect()
}

fn opened(site: &Site, path: &str) -> Arc<OpenFile> {
    Arc::new(OpenFile::open(site, site.main(), path.as_bytes(), true).unwrap())
}

#[test]
fn hits_until_the_entry_is_older_than_valid() {
    let t = Tree::new("expiry");
    let paths = files(&t, 1);
    let site = t.site();
    let cache = OpenFiles::new(4, SEC);
    let t0 = Instant::now();
    assert!(cache.lookup(b"/f0.txt", true, t0).is_none(), "empty");
    let f = opened(&site, &paths[0]);
    cache.insert(b"/f0.txt", true, f.clone(), t0);
    let hit = cache.lookup(b"/f0.txt", true, t0 + ms(999)).unwrap();
    assert!(Arc::ptr_eq(&hit, &f));
    // A time before the insert (another thread's older reading) still hits.
    assert!(cache.lookup(b"/f0.txt", true, t0 - ms(5)).is_some());
    assert!(
        cache.lookup(b"/f0.txt", true, t0 + SEC).is_none(),
        "expired"
    );
    assert!(
        cache.lookup(b"/f0.txt", false, t0).is_none(),
        "other follow"
    );
    assert!(cache.lookup(b"/f0.tx", true, t0).is_none());
    // The expired entry stays until replaced; a fresh insert makes it hit again.
    assert_eq!(cache.len(), 1);
    cache.insert(b"/f0.txt", true, opened(&site, &paths[0]), t0 + SEC);
    assert_eq!(cache.len(), 1);
    assert!(cache.lookup(b"/f0.txt", true, t0 + SEC + ms(500)).is_some());
}

#[test]
fn follow_symlinks_is_part_of_the_key() {
    let t = Tree::new("follow");
    let paths = files(&t, 2);
    let site = t.site();
    let cache = OpenFiles::new(4, SEC);
    let now = Instant::now();
    cache.insert(b"/x", true, opened(&site, &paths[0]), now);
    cache.insert(b"/x", false, opened(&site, &paths[1]), now);
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.lookup(b"/x", true, now).unwrap().size, 1);
    assert_eq!(cache.lookup(b"/x", false, now).unwrap().size, 2);
    cache.remove(b"/x", true);
    assert!(cache.lookup(b"/x", true, now).is_none());
    assert_eq!(cache.lookup(b"/x", false, now).unwrap().size, 2);
    cache.remove(b"/x", false);
    assert!(cache.is_empty());
    // One slot: the key's other variant is evicted for it, and the index stays right.
    let one = OpenFiles::new(1, SEC);
    one.insert(b"/x", true, opened(&site, &paths[0]), now);
    one.insert(b"/x", false, opened(&site, &paths[1]), now);
    assert!(one.lookup(b"/x", true, now).is_none());
    assert_eq!(one.lookup(b"/x", false, now).unwrap().size, 2);
    one.insert(b"/y", false, opened(&site, &paths[0]), now + SEC);
    assert!(one.lookup(b"/x", false, now).is_none());
    assert_eq!(one.lookup(b"/y", false, now).unwrap().size, 1);
    assert_eq!(one.len(), 1);
}

#[test]
fn removing_an_entry_keeps_the_others_findable() {
    let t = Tree::new("remove");
    let paths = files(&t, 5);
    let site = t.site();
    let cache = OpenFiles::new(4, SEC);
    let now = Instant::now();
    for p in &paths[..4] {
        cache.insert(p.as_bytes(), true, opened(&site, p), now);
    }
    // The first slot empties and the last entry moves into it.
    cache.remove(paths[0].as_bytes(), true);
    cache.remove(paths[0].as_bytes(), true);
    cache.remove(b"/never-cached", true);
    assert_eq!(cache.len(), 3);
    for (i, p) in paths.iter().enumerate().take(4).skip(1) {
        assert_eq!(
            cache.lookup(p.as_bytes(), true, now).unwrap().size,
            i as u64 + 1
        );
    }
    cache.insert(paths[4].as_bytes(), true, opened(&site, &paths[4]), now);
    cache.insert(paths[0].as_bytes(), true, opened(&site, &paths[0]), now);
    assert_eq!(cache.len(), 4);
    for (i, p) in paths.iter().enumerate().skip(1) {
        let size = cache.lookup(p.as_bytes(), true, now).map(|f| f.size);
        assert!(
            size.is_none() || size == Some(i as u64 + 1),
            "{p}: {size:?}"
        );
    }
    assert_eq!(
        cache.lookup(paths[0].as_bytes(), true, now).unwrap().size,
        1
    );
}

#[test]
fn holds_at_most_capacity_and_evicts_unreferenced_entries_first() {
    let t = Tree::new("evict");
    let paths = files(&t, 12);
    let site = t.site();
    let cache = OpenFiles::new(4, SEC);
    let now = Instant::now();
    for p in &paths[..4] {
        cache.insert(p.as_bytes(), true, opened(&site, p), now);
    }
    assert_eq!(cache.len(), 4);
    // f0 and f2 are hit: the next two insertions take f1's and f3's slots.
    for p in [&paths[0], &paths[2]] {
        assert!(cache.lookup(p.as_bytes(), true, now).is_some());
    }
    for p in &paths[4..6] {
        cache.insert(p.as_bytes(), true, opened(&site, p), now);
        assert_eq!(cache.len(), 4);
    }
    let cached = |p: &String| cache.lookup(p.as_bytes(), true, now).is_some();
    assert!(
        cached(&paths[0]) && cached(&paths[2]),
        "referenced entries stay"
    );
    assert!(
        !cached(&paths[1]) && !cached(&paths[3]),
        "unreferenced ones went"
    );
    assert!(cached(&paths[4]) && cached(&paths[5]));
    // Every entry referenced: the hand clears the bits and still finds a victim.
    for p in &paths[6..12] {
        cache.insert(p.as_bytes(), true, opened(&site, p), now);
        for q in &paths {
            let _ = cache.lookup(q.as_bytes(), true, now);
        }
        assert_eq!(cache.len(), 4);
    }
    assert!(cached(&paths[11]), "the newest entry is cached");
}

#[test]
fn expired_entries_are_evicted_before_referenced_fresh_ones() {
    let t = Tree::new("evict-expired");
    let paths = files(&t, 3);
    let site = t.site();
    let cache = OpenFiles::new(2, SEC);
    let t0 = Instant::now();
    let [fresh, old, new] = [0, 1, 2].map(|i| paths[i].as_bytes());
    cache.insert(fresh, true, opened(&site, &paths[0]), t0 + ms(900));
    cache.insert(old, true, opened(&site, &paths[1]), t0);
    assert!(cache.lookup(old, true, t0 + ms(500)).is_some());
    let later = t0 + ms(1500);
    assert!(cache.lookup(fresh, true, later).is_some());
    // Both referenced; plain CLOCK would clear both bits and take `fresh`, at the hand.
    cache.insert(new, true, opened(&site, &paths[2]), later);
    assert!(cache.lookup(fresh, true, later).is_some());
    assert!(cache.lookup(new, true, later).is_some());
    assert!(
        cache.lookup(old, true, t0).is_none(),
        "evicted, not just expired"
    );
    assert_eq!(cache.len(), 2);
}

#[test]
fn capacity_zero_is_off() {
    let t = Tree::new("off");
    let paths = files(&t, 1);
    let site = t.site();
    let before = t.open_descriptors();
    let cache = OpenFiles::new(0, SEC);
    let now = Instant::now();
    cache.insert(b"/f0.txt", true, opened(&site, &paths[0]), now);
    assert!(cache.lookup(b"/f0.txt", true, now).is_none());
    assert!(cache.is_empty());
    let f = cache
        .get_or_open(&site, site.main(), b"/f0.txt", true, now)
        .unwrap();
    assert_eq!(f.size, 1);
    assert!(cache.is_empty());
    drop(f);
    assert_eq!(t.open_descriptors(), before, "nothing kept open");
}

#[test]
fn overlong_keys_are_not_cached() {
    let t = Tree::new("long");
    let paths = files(&t, 1);
    let site = t.site();
    let cache = OpenFiles::new(2, SEC);
    let now = Instant::now();
    let long = vec![b'a'; MAX_KEY + 1];
    cache.insert(&long, true, opened(&site, &paths[0]), now);
    assert!(cache.is_empty());
    let just = vec![b'a'; MAX_KEY];
    cache.insert(&just, true, opened(&site, &paths[0]), now);
    assert!(cache.lookup(&just, true, now).is_some());
}

#[test]
fn a_file_changed_on_disk_is_seen_once_its_entry_expires() {
    let t = Tree::new("changed");
    t.write("page.txt", b"first");
    t.write("dir/index.html", b"index one");
    let site = t.site();
    let cache = OpenFiles::new(8, SEC);
    let t0 = Instant::now();
    let first = cache
        .get_or_open(&site, site.main(), b"/page.txt", true, t0)
        .unwrap();
    assert_eq!(first.size, 5);
    let index = cache
        .get_or_open(&site, site.main(), b"/dir/", true, t0)
        .unwrap();
    assert_eq!(&*index.served, std::path::Path::new("dir/index.html"));
    // Replaced by rename (a deploy) and rewritten in place (an editor).
    t.write("page.new", b"second version");
    std::fs::rename(t.0.join("page.new"), t.0.join("page.txt")).unwrap();
    t.write("dir/index.html", b"index two, longer");
    let stale = cache
        .get_or_open(&site, site.main(), b"/page.txt", true, t0 + ms(999))
        .unwrap();
    assert!(
        Arc::ptr_eq(&stale, &first),
        "within `valid` the cached file is served"
    );
    let fresh = cache
        .get_or_open(&site, site.main(), b"/page.txt", true, t0 + SEC)
        .unwrap();
    assert!(!Arc::ptr_eq(&fresh, &first));
    assert_eq!(fresh.size, 14);
    assert_ne!(fresh.ino, first.ino);
    let mut buf = [0u8; 14];
    fresh.file.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"second version");
    let index2 = cache
        .get_or_open(&site, site.main(), b"/dir/", true, t0 + SEC)
        .unwrap();
    assert_eq!(index2.size, 17);
    assert_eq!(cache.len(), 2, "replaced, not added");
}

#[test]
fn a_removed_file_drops_its_entry_and_descriptor() {
    let t = Tree::new("removed");
    t.write("gone.txt", b"soon gone");
    let site = t.site();
    let before = t.open_descriptors();
    let cache = OpenFiles::new(8, SEC);
    let t0 = Instant::now();
    drop(
        cache
            .get_or_open(&site, site.main(), b"/gone.txt", true, t0)
            .unwrap(),
    );
    assert_eq!(t.open_descriptors(), before + 1, "the cache holds it open");
    std::fs::remove_file(t.0.join("gone.txt")).unwrap();
    assert!(
        cache.lookup(b"/gone.txt", true, t0).is_some(),
        "until it expires"
    );
    let e = cache
        .get_or_open(&site, site.main(), b"/gone.txt", true, t0 + SEC)
        .unwrap_err();
    assert!(matches!(e, OpenError::Io(ref e) if e.kind() == std::io::ErrorKind::NotFound));
    assert!(cache.is_empty());
    assert_eq!(
        t.open_descriptors(),
        before,
        "the deleted file's descriptor closed"
    );
}

#[test]
fn dropping_the_cache_closes_every_descriptor() {
    let t = Tree::new("leak");
    let paths = files(&t, 20);
    let site = t.site();
    let before = t.open_descriptors();
    let cache = OpenFiles::new(8, SEC);
    let t0 = Instant::now();
    for round in 0..3u64 {
        for p in &paths {
            cache
                .get_or_open(
                    &site,
                    site.main(),
                    p.as_bytes(),
                    true,
                    t0 + SEC * round as u32,
                )
                .unwrap();
        }
    }
    assert_eq!(cache.len(), 8);
    assert_eq!(
        t.open_descriptors(),
        before + 8,
        "one per entry, evicted ones closed"
    );
    drop(cache);
    assert_eq!(t.open_descriptors(), before);
}

#[test]
fn several_threads_share_it_within_its_bound() {
    const THREADS: usize = 4;
    const ROUNDS: u64 = 400;
    const FILES: usize = 16;
    const CAPACITY: usize = 6;
    let t = Tree::new("threads");
    let paths = files(&t, FILES);
    let site = t.site();
    let before = t.open_descriptors();
    let cache = OpenFiles::new(CAPACITY, SEC);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for n in 0..THREADS {
            let (cache, site, paths) = (&cache, &site, &paths);
            s.spawn(move || {
                for r in 0..ROUNDS {
                    // Skewed towards the first files, and a clock that crosses `valid` often.
                    let i = ((r as usize * (n + 3)) % (FILES * 2)) % FILES.min(r as usize + 1);
                    let now = t0 + ms(r * 13 + n as u64);
                    let f = cache
                        .get_or_open(site, site.main(), paths[i].as_bytes(), true, now)
                        .unwrap();
                    assert_eq!(f.size, i as u64 + 1, "{}", paths[i]);
                    let mut byte = [0u8];
                    f.file.read_exact_at(&mut byte, i as u64).unwrap();
                    assert_eq!(byte[0], b'a' + (i % 26) as u8);
                    assert!(cache.len() <= CAPACITY);
                }
            });
        }
    });
    assert!(cache.len() <= CAPACITY);
    assert!(t.open_descriptors() <= before + CAPACITY);
    drop(cache);
    assert_eq!(t.open_descriptors(), before);
}

/// A file of at most a page is kept in memory, byte for byte; a larger one is not.
#[test]
fn a_small_files_contents_are_kept_and_a_large_ones_are_not() {
    let t = Tree::new("contents");
    let page: Vec<u8> = (0..open_file::CONTENTS_MAX)
        .map(|i| (i % 251) as u8)
        .collect();
    t.write("page.bin", &page);
    t.write("more.bin", &[7u8; open_file::CONTENTS_MAX as usize + 1]);
    t.write("empty.txt", b"");
    let site = t.site();
    assert_eq!(
        opened(&site, "/page.bin").contents.as_deref(),
        Some(&page[..])
    );
    assert_eq!(
        opened(&site, "/empty.txt").contents.as_deref(),
        Some(&[][..])
    );
    assert!(opened(&site, "/more.bin").contents.is_none());
}
