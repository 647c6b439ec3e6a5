//! Directory listings (mod_autoindex): the page httpd 2.4 generates for a directory that has no
//! DirectoryIndex file where `Options Indexes` allows it, byte for byte — the plain list, the
//! `FancyIndexing` `<pre>` table and the `HTMLTable` one Debian's `autoindex.conf` selects — with
//! its icons, descriptions, `HeaderName`/`ReadmeName` files, `IndexIgnore` patterns and the
//! column sort links and `?C=N;O=D` (also `F=`, `V=`, `P=`) queries.
//!
//! A worker renders a listing, never the listener: it reads a directory and stats every entry.
//! A listing is bounded: at most [`MAX_ENTRIES`] entries are read from a directory; past that
//! the rest are left out (and the error log says so), so a huge directory costs a bounded page.
//!
//! The directives are taken at server level only (httpd also allows them per directory);
//! inside a section they are refused at their line.

use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::mime::MimeTypes;

/// The most entries one listing reads from its directory.
pub const MAX_ENTRIES: usize = 10_000;

/// The most bytes of a `HeaderName` or `ReadmeName` file included in a listing.
pub const MAX_INSERT: u64 = 256 * 1024;

const FANCY_INDEXING: u32 = 1 << 13;
const TABLE_INDEXING: u32 = 1 << 14;
const SUPPRESS_ICON: u32 = 1 << 1;
const SUPPRESS_LAST_MOD: u32 = 1 << 2;
const SUPPRESS_SIZE: u32 = 1 << 5;
const SUPPRESS_DESC: u32 = 1 << 6;
const SUPPRESS_PREAMBLE: u32 = 1 << 7;
const SUPPRESS_COLSORT: u32 = 1 << 8;
const SUPPRESS_RULES: u32 = 1 << 9;
const FOLDERS_FIRST: u32 = 1 << 10;
const VERSION_SORT: u32 = 1 << 11;
const IGNORE_CLIENT: u32 = 1 << 15;
const IGNORE_CASE: u32 = 1 << 16;
const EMIT_XHTML: u32 = 1 << 17;
const ICONS_ARE_LINKS: u32 = 1 << 0;
const NO_OPTIONS: u32 = 1 << 21;

const DEFAULT_NAME_WIDTH: usize = 23;
const DEFAULT_DESC_WIDTH: usize = 23;

const DOCTYPE_HTML_4_01: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n";
const DOCTYPE_XHTML_1_0T: &str = "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n";

/// What an icon or alt text applies to (`AddIcon`, `AddIconByType`, `AddIconByEncoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Path,
    Type,
    Encoding,
}

/// One `AddIcon*`/`AddAlt*` pattern (mod_autoindex's `struct item`).
#[derive(Debug, Clone)]
struct Item {
    by: By,
    apply_to: String,
    data: String,
}

/// One `AddDescription`.
#[derive(Debug, Clone)]
struct Desc {
    pattern: String,
    description: String,
    full_path: bool,
    wildcards: bool,
}

/// How widths adapt (`NameWidth=*` adjusts to the longest name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Adjust {
    Unset,
    Fixed,
    Longest,
}

/// mod_autoindex's directives, read from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    opts: u32,
    add: u32,
    remove: u32,
    icons: Vec<Item>,
    alts: Vec<Item>,
    descs: Vec<Desc>,
    ignore: Vec<String>,
    default_icon: Option<String>,
    header: Option<String>,
    readme: Option<String>,
    name_width: usize,
    name_adjust: Adjust,
    desc_width: usize,
    desc_adjust: Adjust,
    icon_width: u32,
    icon_height: u32,
    default_key: Option<u8>,
    default_direction: Option<u8>,
    ctype: Option<String>,
    charset: Option<String>,
    old_dates: bool,
    not_found: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            opts: 0,
            add: 0,
            remove: 0,
            icons: Vec::new(),
            alts: Vec::new(),
            descs: Vec::new(),
            ignore: Vec::new(),
            default_icon: None,
            header: None,
            readme: None,
            name_width: DEFAULT_NAME_WIDTH,
            name_adjust: Adjust::Unset,
            desc_width: DEFAULT_DESC_WIDTH,
            desc_adjust: Adjust::Unset,
            icon_width: 0,
            icon_height: 0,
            default_key: None,
            default_direction: None,
            ctype: None,
            charset: None,
            old_dates: false,
            not_found: false,
        }
    }
}

impl Settings {
    /// The options in force (`IndexOptions` with its `+`/`-` adjustments applied).
    fn options(&self) -> u32 {
        if self.opts & NO_OPTIONS != 0 {
            return NO_OPTIONS;
        }
        (self.opts | self.add) & !self.remove
    }

    /// `IndexForbiddenReturn404`: 404 instead of 403 where `Options` forbids listings.
    pub fn forbidden_is_not_found(&self) -> bool {
        self.not_found
    }

    /// Apply one of mod_autoindex's directives (`name` lowercase); `None` if `name` is not one.
    pub fn directive(&mut self, name: &str, args: &[&str]) -> Option<Result<(), String>> {
        let two_or_more = |what: &str| -> Result<(&str, &[&str]), String> {
            match args {
                [first, rest @ ..] if !rest.is_empty() => Ok((first, rest)),
                _ => Err(format!("{what} requires at least two arguments")),
            }
        };
        let one = |directive: &str, what: &str| -> Result<String, String> {
            match args {
                [a] => Ok(a.to_string()),
                _ => Err(format!("{directive} takes one argument, {what}")),
            }
        };
        let r = match name {
            "addicon" | "addiconbytype" | "addiconbyencoding" => {
                let by = by_of(name);
                two_or_more(match by {
                    By::Path => "AddIcon",
                    By::Type => "AddIconByType",
                    By::Encoding => "AddIconByEncoding",
                })
                .and_then(|(icon, to)| {
                    for t in to {
                        self.add_icon(by, icon, t)?;
                    }
                    Ok(())
                })
            }
            "addalt" | "addaltbytype" | "addaltbyencoding" => {
                let by = by_of(name);
                two_or_more(match by {
                    By::Path => "AddAlt",
                    By::Type => "AddAltByType",
                    By::Encoding => "AddAltByEncoding",
                })
                .map(|(alt, to)| {
                    for t in to {
                        self.alts.push(item(by, t, alt));
                    }
                })
            }
            "adddescription" => two_or_more("AddDescription").map(|(desc, to)| {
                for t in to {
                    let full_path = t.contains('/');
                    let wildcards = full_path || t.contains(['*', '?', '[']);
                    let pattern = if wildcards {
                        format!("{}{t}*", if full_path { "*/" } else { "*" })
                    } else {
                        t.to_string()
                    };
                    self.descs.push(Desc {
                        pattern,
                        description: desc.to_string(),
                        full_path,
                        wildcards,
                    });
                }
            }),
            "indexignore" => {
                if args.is_empty() {
                    Err("IndexIgnore requires at least 1 argument, one or more file extensions"
                        .into())
                } else {
                    self.ignore.extend(args.iter().map(|a| a.to_string()));
                    Ok(())
                }
            }
            "indexignorereset" => Err(
                "IndexIgnoreReset is not supported by eventmpm (its listings settings are server-wide)"
                    .into(),
            ),
            "indexoptions" => self.index_options(args),
            "indexorderdefault" => self.order_default(args),
            "headername" => one("HeaderName", "a filename").map(|v| self.header = Some(v)),
            "readmename" => one("ReadmeName", "a filename").map(|v| self.readme = Some(v)),
            "defaulticon" => one("DefaultIcon", "an icon URL").map(|v| self.default_icon = Some(v)),
            "indexforbiddenreturn404" => match args {
                [v] if v.eq_ignore_ascii_case("on") => {
                    self.not_found = true;
                    Ok(())
                }
                [v] if v.eq_ignore_ascii_case("off") => {
                    self.not_found = false;
                    Ok(())
                }
                _ => Err("IndexForbiddenReturn404 must be On or Off".into()),
            },
            "fancyindexing" => Err(
                "The FancyIndexing directive is no longer supported. Use IndexOptions FancyIndexing."
                    .into(),
            ),
            "indexstylesheet" | "indexheadinsert" => Err(format!(
                "{} is not supported by eventmpm",
                if name == "indexstylesheet" {
                    "IndexStyleSheet"
                } else {
                    "IndexHeadInsert"
                }
            )),
            _ => return None,
        };
        Some(r)
    }

    fn add_icon(&mut self, by: By, icon: &str, to: &str) -> Result<(), String> {
        let mut icon = icon.to_string();
        if let Some(rest) = icon.strip_prefix('(') {
            // `(ALT,/icons/x.gif)`: the alt text and the icon in one.
            let Some(close) = rest.find(')') else {
                return Err("missing closing paren".into());
            };
            let inner = &rest[..close];
            let (alt, url) = inner.split_once(',').unwrap_or((inner, ""));
            self.alts.push(item(by, to, alt));
            icon = url.to_string();
        }
        self.icons.push(item(by, to, &icon));
        Ok(())
    }

    fn index_options(&mut self, args: &[&str]) -> Result<(), String> {
        if args.is_empty() {
            return Err("IndexOptions requires at least 1 argument".into());
        }
        let (mut opts, mut add, mut remove) = (self.opts, self.add, self.remove);
        for w in args {
            let (action, w) = match w.as_bytes().first() {
                Some(b'+') => (Some('+'), &w[1..]),
                Some(b'-') => (Some('-'), &w[1..]),
                _ => (None, *w),
            };
            let lw = w.to_ascii_lowercase();
            let value = |prefix: &str| lw.strip_prefix(prefix).map(|_| &w[prefix.len()..]);
            let option = match lw.as_str() {
                "fancyindexing" => FANCY_INDEXING,
                "foldersfirst" => FOLDERS_FIRST,
                "htmltable" => TABLE_INDEXING,
                "iconsarelinks" => ICONS_ARE_LINKS,
                "ignorecase" => IGNORE_CASE,
                "ignoreclient" => IGNORE_CLIENT,
                "suppresscolumnsorting" => SUPPRESS_COLSORT,
                "suppressdescription" => SUPPRESS_DESC,
                "suppresshtmlpreamble" => SUPPRESS_PREAMBLE,
                "suppressicon" => SUPPRESS_ICON,
                "suppresslastmodified" => SUPPRESS_LAST_MOD,
                "suppresssize" => SUPPRESS_SIZE,
                "suppressrules" => SUPPRESS_RULES,
                "versionsort" => VERSION_SORT,
                "xhtml" => EMIT_XHTML,
                "scanhtmltitles" | "trackmodified" | "showforbidden" | "addaltclass" => {
                    return Err(format!("IndexOptions {w} is not supported by eventmpm"));
                }
                "none" => {
                    if action.is_some() {
                        return Err("Cannot combine '+' or '-' with 'None' keyword".into());
                    }
                    (opts, add, remove) = (NO_OPTIONS, 0, 0);
                    continue;
                }
                "iconwidth" => {
                    self.icon_width = if action == Some('-') { 0 } else { 20 };
                    continue;
                }
                "iconheight" => {
                    self.icon_height = if action == Some('-') { 0 } else { 22 };
                    continue;
                }
                "namewidth" => {
                    if action != Some('-') {
                        return Err(
                            "NameWidth with no value may only appear as '-NameWidth'".into()
                        );
                    }
                    self.name_width = DEFAULT_NAME_WIDTH;
                    self.name_adjust = Adjust::Fixed;
                    continue;
                }
                "descriptionwidth" => {
                    if action != Some('-') {
                        return Err(
                            "DescriptionWidth with no value may only appear as '-DescriptionWidth'"
                                .into(),
                        );
                    }
                    self.desc_width = DEFAULT_DESC_WIDTH;
                    self.desc_adjust = Adjust::Fixed;
                    continue;
                }
                "useolddateformat" => {
                    self.old_dates = true;
                    continue;
                }
                _ => {
                    if let Some(v) = value("iconwidth=") {
                        if action == Some('-') {
                            return Err("Cannot combine '-' with IconWidth=n".into());
                        }
                        self.icon_width = atoi(v).max(0) as u32;
                    } else if let Some(v) = value("iconheight=") {
                        if action == Some('-') {
                            return Err("Cannot combine '-' with IconHeight=n".into());
                        }
                        self.icon_height = atoi(v).max(0) as u32;
                    } else if let Some(v) = value("namewidth=") {
                        if action == Some('-') {
                            return Err("Cannot combine '-' with NameWidth=n".into());
                        }
                        if v.starts_with('*') {
                            self.name_adjust = Adjust::Longest;
                        } else {
                            let width = atoi(v);
                            if width != 0 && width < 5 {
                                return Err("NameWidth value must be greater than 5".into());
                            }
                            // Bounded so a page line stays a line.
                            self.name_width = width.clamp(0, 1024) as usize;
                            self.name_adjust = Adjust::Fixed;
                        }
                    } else if let Some(v) = value("descriptionwidth=") {
                        if action == Some('-') {
                            return Err("Cannot combine '-' with DescriptionWidth=n".into());
                        }
                        if v.starts_with('*') {
                            self.desc_adjust = Adjust::Longest;
                        } else {
                            let width = atoi(v);
                            if width != 0 && width < 12 {
                                return Err("DescriptionWidth value must be greater than 12".into());
                            }
                            self.desc_width = width.clamp(0, 1024) as usize;
                            self.desc_adjust = Adjust::Fixed;
                        }
                    } else if let Some(v) = value("type=") {
                        self.ctype = Some(v.to_string());
                    } else if let Some(v) = value("charset=") {
                        self.charset = Some(v.to_string());
                    } else {
                        return Err("Invalid directory indexing option".into());
                    }
                    continue;
                }
            };
            match action {
                None => {
                    opts |= option;
                    add = 0;
                    remove = 0;
                }
                Some('+') => {
                    add |= option;
                    remove &= !option;
                }
                _ => {
                    remove |= option;
                    add &= !option;
                }
            }
        }
        if opts & NO_OPTIONS != 0 && opts & !NO_OPTIONS != 0 {
            return Err("Cannot combine other IndexOptions keywords with 'None'".into());
        }
        (self.opts, self.add, self.remove) = (opts, add, remove);
        Ok(())
    }

    fn order_default(&mut self, args: &[&str]) -> Result<(), String> {
        let [direction, key] = args else {
            return Err("IndexOrderDefault takes two arguments, {Ascending,Descending} {Name,Size,Description,Date}".into());
        };
        self.default_direction = Some(match direction.to_ascii_lowercase().as_str() {
            "ascending" => b'A',
            "descending" => b'D',
            _ => return Err("First keyword must be 'Ascending' or 'Descending'".into()),
        });
        self.default_key = Some(match key.to_ascii_lowercase().as_str() {
            "name" => b'N',
            "date" => b'M',
            "size" => b'S',
            "description" => b'D',
            _ => {
                return Err(
                    "Second keyword must be 'Name', 'Date', 'Size', or 'Description'".into(),
                );
            }
        });
        Ok(())
    }
}

fn by_of(name: &str) -> By {
    if name.ends_with("bytype") {
        By::Type
    } else if name.ends_with("byencoding") {
        By::Encoding
    } else {
        By::Path
    }
}

/// mod_autoindex's `push_item`: a path that is no wildcard pattern matches as a suffix.
fn item(by: By, to: &str, data: &str) -> Item {
    let to = match by {
        By::Path if to == "**DIRECTORY**" => "^^DIRECTORY^^".to_string(),
        By::Encoding => to.to_ascii_lowercase(),
        _ => to.to_string(),
    };
    let apply_to = if by == By::Path && !to.contains(['*', '?']) {
        format!("*{to}")
    } else {
        to
    };
    Item {
        by,
        apply_to,
        data: data.to_string(),
    }
}

/// C's `atoi`.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -v } else { v }
}

/// httpd's `ap_strcmp_match`: `*` and `?` wildcards, case-sensitive or not.
fn strcmp_match(s: &[u8], pattern: &[u8], fold: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Iterative wildcard matching with one backtrack point: O(len(s) x len(pattern)) at worst.
    let (mut si, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < pattern.len() && pattern[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < pattern.len() && (pattern[pi] == b'?' || eq(pattern[pi], s[si])) {
            pi += 1;
            si += 1;
        } else if let Some((p, s0)) = star {
            pi = p + 1;
            si = s0 + 1;
            star = Some((p, s0 + 1));
        } else {
            return false;
        }
    }
    pattern[pi..].iter().all(|&c| c == b'*')
}

/// `fnmatch` with `*`, `?` and `[...]` classes; with `period`, a leading `.` must be matched by
/// a literal `.` (APR_FNM_PERIOD).
fn fnmatch(pattern: &[u8], name: &[u8], period: bool) -> bool {
    fn class(pattern: &[u8], c: u8) -> Option<(bool, usize)> {
        // Returns (matched, length of the class including brackets).
        let mut i = 1;
        let negate = matches!(pattern.get(1), Some(b'!' | b'^'));
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        while i < pattern.len() {
            let p = pattern[i];
            if p == b']' && !first {
                return Some((matched != negate, i + 1));
            }
            first = false;
            if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&e| e != b']') {
                let e = pattern[i + 2];
                if p <= c && c <= e {
                    matched = true;
                }
                i += 3;
            } else {
                if p == c {
                    matched = true;
                }
                i += 1;
            }
        }
        None
    }
    fn go(p: &[u8], n: &[u8], at_start: bool, period: bool, depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        if p.is_empty() {
            return n.is_empty();
        }
        let leading_dot = period && at_start && n.first() == Some(&b'.');
        match p[0] {
            b'*' => {
                if leading_dot {
                    return false;
                }
                (0..=n.len()).any(|k| go(&p[1..], &n[k..], false, period, depth + 1))
            }
            b'?' => !n.is_empty() && !leading_dot && go(&p[1..], &n[1..], false, period, depth),
            b'[' => match (n.first(), class(p, *n.first().unwrap_or(&0))) {
                (Some(_), Some((true, len))) if !leading_dot => {
                    go(&p[len..], &n[1..], false, period, depth)
                }
                (Some(&c), None) => c == b'[' && go(&p[1..], &n[1..], false, period, depth),
                _ => false,
            },
            c => n.first() == Some(&c) && go(&p[1..], &n[1..], false, period, depth),
        }
    }
    go(pattern, name, true, period, 0)
}

/// APR's `apr_strnatcmp` (Martin Pool's natural order), chars compared as C's signed `char`.
pub fn strnatcmp(a: &[u8], b: &[u8], fold: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let digit = |c: u8| c.is_ascii_digit();
    let space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
    let cmp_chars = |x: u8, y: u8| (x as i8).cmp(&(y as i8));
    let compare_right = |a: &[u8], b: &[u8]| -> Ordering {
        let mut bias = Ordering::Equal;
        let mut i = 0;
        loop {
            let (ca, cb) = (at(a, i), at(b, i));
            if !digit(ca) && !digit(cb) {
                return bias;
            } else if !digit(ca) {
                return Ordering::Less;
            } else if !digit(cb) {
                return Ordering::Greater;
            } else if ca < cb {
                if bias == Ordering::Equal {
                    bias = Ordering::Less;
                }
            } else if ca > cb && bias == Ordering::Equal {
                bias = Ordering::Greater;
            }
            i += 1;
        }
    };
    let compare_left = |a: &[u8], b: &[u8]| -> Ordering {
        let mut i = 0;
        loop {
            let (ca, cb) = (at(a, i), at(b, i));
            if !digit(ca) && !digit(cb) {
                return Ordering::Equal;
            } else if !digit(ca) {
                return Ordering::Less;
            } else if !digit(cb) {
                return Ordering::Greater;
            } else if ca != cb {
                return ca.cmp(&cb);
            }
            i += 1;
        }
    };
    let (mut ai, mut bi) = (0, 0);
    loop {
        let (mut ca, mut cb) = (at(a, ai), at(b, bi));
        while space(ca) {
            ai += 1;
            ca = at(a, ai);
        }
        while space(cb) {
            bi += 1;
            cb = at(b, bi);
        }
        if digit(ca) && digit(cb) {
            let r = if ca == b'0' || cb == b'0' {
                compare_left(&a[ai..], &b[bi..])
            } else {
                compare_right(&a[ai..], &b[bi..])
            };
            if r != Ordering::Equal {
                return r;
            }
        }
        if ca == 0 && cb == 0 {
            return Ordering::Equal;
        }
        if fold {
            ca = ca.to_ascii_uppercase();
            cb = cb.to_ascii_uppercase();
        }
        match cmp_chars(ca, cb) {
            Ordering::Equal => {}
            o => return o,
        }
        ai += 1;
        bi += 1;
    }
}

/// APR's `apr_strfsize`: a size in at most four characters (`  - ` for none).
pub fn strfsize(size: i64) -> String {
    if size < 0 {
        return "  - ".into();
    }
    if size < 973 {
        return format!("{size:3} ");
    }
    let ord = b"KMGTPE";
    let mut o = 0;
    let mut size = size;
    loop {
        let mut remain = size & 1023;
        size >>= 10;
        if size >= 973 {
            o += 1;
            continue;
        }
        let unit = ord[o.min(ord.len() - 1)] as char;
        if size < 9 || (size == 9 && remain < 973) {
            remain = (remain * 5 + 256) / 512;
            if remain >= 10 {
                size += 1;
                remain = 0;
            }
            return format!("{size}.{remain}{unit}");
        }
        if remain >= 512 {
            size += 1;
        }
        return format!("{size:3}{unit}");
    }
}

/// httpd's `ap_escape_html`.
fn escape_html(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_html(&mut out, s);
    out
}

/// httpd's `ap_os_escape_path(p, 0)`: `%xx` (lower-case hex) for what may not stand in a path,
/// and `./` before a first segment holding a colon.
fn os_escape_path(s: &[u8]) -> String {
    escape_path(s, false)
}

/// httpd's `ap_os_escape_path(p, partial)` (`ap_escape_uri` is the partial form).
pub fn escape_path(s: &[u8], partial: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let colon = s.iter().position(|&b| b == b':');
    let slash = s.iter().position(|&b| b == b'/');
    if let Some(c) = colon
        && !partial
        && slash.is_none_or(|sl| c < sl)
    {
        out.push_str("./");
    }
    for &b in s {
        if b.is_ascii_alphanumeric() || b"$-_.+!*'(),:;@&=/~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02x}");
        }
    }
    out
}

/// httpd's `ap_escape_uri` (the `P=` pattern echoed in the column links).
fn escape_uri(s: &[u8]) -> String {
    let mut out = String::new();
    for &b in s {
        if b.is_ascii_alphanumeric() || b"$-_.+!*'(),:@&=~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02x}");
        }
    }
    out
}

/// One row of a listing (mod_autoindex's `struct ent`).
#[derive(Debug, Clone)]
struct Entry {
    /// The name shown (a directory's with `/`; the parent's is its URL-path).
    name: Vec<u8>,
    icon: Option<String>,
    alt: Option<String>,
    desc: Option<String>,
    size: i64,
    /// Modification time, microseconds (httpd sorts by `apr_time_t`); -1 unknown.
    lm: i64,
    isdir: bool,
}

/// A directory entry as read, before the listing's rules decide on it.
#[derive(Debug, Clone)]
pub struct DirEntry {
    /// Its name.
    pub name: Vec<u8>,
    /// A directory (after following a symbolic link).
    pub is_dir: bool,
    /// Size in bytes.
    pub size: i64,
    /// Modification time, microseconds since the epoch.
    pub mtime: i64,
}

/// Read up to [`MAX_ENTRIES`] entries of `dir`: directories and regular files, symbolic links
/// followed (as httpd "explodes" them), each passed to `keep` with its name first (access
/// rules, link policy). Also says whether entries were left out.
pub fn read_dir(
    dir: &Path,
    mut keep: impl FnMut(&[u8], &std::fs::Metadata, bool) -> bool,
) -> std::io::Result<(Vec<DirEntry>, bool)> {
    let mut out = Vec::new();
    let mut truncated = false;
    for e in std::fs::read_dir(dir)? {
        let Ok(e) = e else { continue };
        if out.len() >= MAX_ENTRIES {
            truncated = true;
            break;
        }
        let name = e.file_name().as_bytes().to_vec();
        let Ok(ft) = e.file_type() else { continue };
        let is_link = ft.is_symlink();
        // Un-stat-able entries are passed over, as httpd does.
        let Ok(meta) = std::fs::metadata(e.path()) else {
            continue;
        };
        if !(meta.is_dir() || meta.is_file()) || !keep(&name, &meta, is_link) {
            continue;
        }
        out.push(DirEntry {
            name,
            is_dir: meta.is_dir(),
            size: meta.len() as i64,
            mtime: meta.mtime() * 1_000_000 + meta.mtime_nsec() / 1000,
        });
    }
    Ok((out, truncated))
}

/// A file a listing includes (`HeaderName`, `ReadmeName`): its media type and contents.
#[derive(Debug, Clone)]
pub struct Insert {
    /// The file's `Content-Type`, without parameters.
    pub content_type: String,
    /// Its bytes (at most [`MAX_INSERT`]).
    pub bytes: Vec<u8>,
}

/// Everything a listing is made from besides the settings.
#[derive(Debug)]
pub struct Request<'a> {
    /// The decoded URL-path of the directory, ending in `/`.
    pub uri: &'a [u8],
    /// The query string, if any.
    pub query: Option<&'a str>,
    /// The directory's file-system path (absolute, without a trailing slash).
    pub dir: &'a Path,
    /// Its entries.
    pub entries: Vec<DirEntry>,
    /// Media types, for the icons.
    pub mime: &'a MimeTypes,
    /// Seconds east of UTC for the dates shown.
    pub utc_offset: i64,
    /// The `HeaderName` file, if found.
    pub header: Option<Insert>,
    /// The `ReadmeName` file, if found.
    pub readme: Option<Insert>,
}

/// A rendered listing.
#[derive(Debug)]
pub struct Page {
    /// `Content-Type`.
    pub content_type: String,
    /// The HTML.
    pub body: Vec<u8>,
}

impl Settings {
    /// The names of the `HeaderName` and `ReadmeName` files (relative to the directory).
    pub fn inserts(&self) -> (Option<&str>, Option<&str>) {
        (self.header.as_deref(), self.readme.as_deref())
    }

    /// The `Content-Type` of a listing.
    pub fn content_type(&self) -> String {
        let ctype = self.ctype.as_deref().unwrap_or("text/html");
        // httpd's default on Unix, where APR has no Unicode file system.
        let charset = self.charset.as_deref().unwrap_or("ISO-8859-1");
        if charset.is_empty() {
            ctype.to_string()
        } else {
            format!("{ctype};charset={charset}")
        }
    }

    /// Whether IndexIgnore hides `path` (a full file-system path).
    fn ignored(&self, path: &[u8]) -> bool {
        let tt = match path.iter().rposition(|&b| b == b'/') {
            Some(i) => &path[i + 1..],
            None => path,
        };
        self.ignore.iter().any(|pattern| {
            let ap = match pattern.rfind('/') {
                Some(i) => &pattern[i + 1..],
                None => pattern.as_str(),
            };
            strcmp_match(tt, ap.as_bytes(), false)
        })
    }

    /// mod_autoindex's `find_item`.
    fn find<'s>(
        list: &'s [Item],
        content_type: Option<&str>,
        encoding: Option<&str>,
        path: &[u8],
        path_only: bool,
    ) -> Option<&'s str> {
        let special = path.first() == Some(&b'^');
        for p in list {
            if p.apply_to.is_empty() {
                return Some(&p.data);
            }
            if p.by == By::Path || special {
                if strcmp_match(path, p.apply_to.as_bytes(), false) {
                    return Some(&p.data);
                }
            } else if !path_only {
                match encoding {
                    None => {
                        if p.by == By::Type
                            && content_type.is_some_and(|t| {
                                strcmp_match(t.as_bytes(), p.apply_to.as_bytes(), true)
                            })
                        {
                            return Some(&p.data);
                        }
                    }
                    Some(e) => {
                        if p.by == By::Encoding
                            && strcmp_match(e.as_bytes(), p.apply_to.as_bytes(), true)
                        {
                            return Some(&p.data);
                        }
                    }
                }
            }
        }
        None
    }

    fn find_desc(&self, full: &[u8]) -> Option<&str> {
        let only = match full.iter().rposition(|&b| b == b'/') {
            Some(i) => &full[i + 1..],
            None => full,
        };
        self.descs.iter().find_map(|d| {
            let name = if d.full_path { full } else { only };
            let found = if d.wildcards {
                fnmatch(d.pattern.as_bytes(), name, false)
            } else {
                name.windows(d.pattern.len().max(1))
                    .any(|w| w == d.pattern.as_bytes())
            };
            found.then_some(d.description.as_str())
        })
    }

    /// Render the listing for `req`.
    pub fn render(&self, req: Request<'_>) -> Page {
        let mut opts = self.options();
        let mut key = self.default_key.unwrap_or(b'N');
        let mut direction = self.default_direction.unwrap_or(b'A');
        let mut pattern: Option<Vec<u8>> = None;
        let colargs;
        if opts & IGNORE_CLIENT != 0 {
            opts |= SUPPRESS_COLSORT;
            colargs = String::new();
        } else {
            let (mut fval, mut vval, mut ppre, mut epattern) =
                (String::new(), String::new(), "", String::new());
            let mut q = req.query.unwrap_or("").as_bytes();
            let ends = |q: &[u8]| matches!(q.get(3), None | Some(b'&' | b';'));
            let step = |q: &[u8]| if q.len() > 3 { 4 } else { 3 };
            while !q.is_empty() {
                if q.starts_with(b"C=") && q.len() > 2 && b"NMSD".contains(&q[2]) && ends(q) {
                    key = q[2];
                    q = &q[step(q)..];
                } else if q.starts_with(b"O=") && q.len() > 2 && b"AD".contains(&q[2]) && ends(q) {
                    direction = q[2];
                    q = &q[step(q)..];
                } else if q.starts_with(b"F=") && q.len() > 2 && b"012".contains(&q[2]) && ends(q) {
                    match q[2] {
                        b'0' => opts &= !(FANCY_INDEXING | TABLE_INDEXING),
                        b'1' => opts = (opts | FANCY_INDEXING) & !TABLE_INDEXING,
                        _ => opts |= FANCY_INDEXING | TABLE_INDEXING,
                    }
                    fval = format!(";F={}", q[2] as char);
                    q = &q[step(q)..];
                } else if q.starts_with(b"V=") && q.len() > 2 && b"01".contains(&q[2]) && ends(q) {
                    if q[2] == b'0' {
                        opts &= !VERSION_SORT;
                    } else {
                        opts |= VERSION_SORT;
                    }
                    vval = format!(";V={}", q[2] as char);
                    q = &q[step(q)..];
                } else if q.starts_with(b"P=") {
                    let rest = &q[2..];
                    let eos = rest
                        .iter()
                        .position(|&b| b == b'&' || b == b';')
                        .unwrap_or(rest.len());
                    pattern = None;
                    if eos > 0
                        && let Some(p) = unescape_url(&rest[..eos])
                    {
                        ppre = ";P=";
                        epattern = escape_uri(&p);
                        pattern = Some(p);
                    }
                    q = if eos < rest.len() && eos + 1 < rest.len() {
                        &rest[eos + 1..]
                    } else {
                        &[]
                    };
                } else {
                    // A syntax error ignores the rest, as httpd does.
                    break;
                }
            }
            colargs = format!("{fval}{vval}{ppre}{epattern}");
        }
        let fancy = opts & (FANCY_INDEXING | TABLE_INDEXING) != 0;
        let xhtml = opts & EMIT_XHTML != 0;

        // The title: the URL-path without trailing slashes.
        let mut title = html(&String::from_utf8_lossy(req.uri));
        while title.len() > 1 && title.ends_with('/') {
            title.pop();
        }

        let dir_bytes = req.dir.as_os_str().as_bytes();
        let full = |name: &[u8]| {
            let mut p = dir_bytes.to_vec();
            p.push(b'/');
            p.extend_from_slice(name);
            p
        };
        let mut ents: Vec<Entry> = Vec::with_capacity(req.entries.len() + 1);
        // The parent, except for the root.
        let parent_uri = parent_of(req.uri);
        let testpath = full(b"..");
        if let Some(parent) = parent_uri
            && !self.ignored(&testpath)
        {
            let mut e = Entry {
                name: parent,
                icon: None,
                alt: None,
                desc: None,
                size: -1,
                lm: -1,
                isdir: false,
            };
            if opts & FANCY_INDEXING != 0 {
                e.icon = Self::find(&self.icons, None, None, &testpath, true)
                    .or_else(|| Self::find(&self.icons, None, None, b"^^DIRECTORY^^", true))
                    .map(String::from);
                e.alt = Some(
                    Self::find(&self.alts, None, None, &testpath, true)
                        .or_else(|| Self::find(&self.alts, None, None, b"^^DIRECTORY^^", true))
                        .unwrap_or("PARENTDIR")
                        .to_string(),
                );
                e.desc = self.find_desc(&testpath).map(String::from);
            }
            ents.push(e);
        }
        for d in &req.entries {
            if d.name == b"." || d.name == b".." {
                continue;
            }
            if let Some(p) = &pattern
                && !fnmatch(p, &d.name, true)
            {
                continue;
            }
            let path = full(&d.name);
            if self.ignored(&path) {
                continue;
            }
            let mut name = d.name.clone();
            if d.is_dir {
                name.push(b'/');
            }
            let mut e = Entry {
                name,
                icon: None,
                alt: None,
                desc: None,
                size: -1,
                lm: -1,
                isdir: false,
            };
            if fancy {
                e.lm = d.mtime;
                if d.is_dir {
                    e.isdir = opts & FOLDERS_FIRST != 0;
                    e.icon = Self::find(&self.icons, None, None, &path, true)
                        .or_else(|| Self::find(&self.icons, None, None, b"^^DIRECTORY^^", true))
                        .map(String::from);
                    e.alt = Some(
                        Self::find(&self.alts, None, None, &path, true)
                            .or_else(|| Self::find(&self.alts, None, None, b"^^DIRECTORY^^", true))
                            .unwrap_or("DIR")
                            .to_string(),
                    );
                } else {
                    let md = req
                        .mime
                        .metadata(Path::new(std::ffi::OsStr::from_bytes(&d.name)));
                    let ct = md
                        .content_type
                        .as_deref()
                        .map(|t| t.split(';').next().unwrap_or(t).trim());
                    let enc = md.encoding.as_deref();
                    e.icon = Self::find(&self.icons, ct, enc, &path, false).map(String::from);
                    e.alt = Self::find(&self.alts, ct, enc, &path, false).map(String::from);
                    e.size = d.size;
                }
                e.desc = self.find_desc(&path).map(String::from);
            }
            if key == b'M' && e.lm < 0 {
                e.lm = 0;
            }
            ents.push(e);
        }
        let ascending = direction == b'A';
        let version_sort = opts & VERSION_SORT != 0;
        let ignore_case = opts & IGNORE_CASE != 0;
        let has_parent = ents.first().is_some_and(|e| e.name.first() == Some(&b'/'));
        let start = usize::from(has_parent);
        ents[start..].sort_by(|e1, e2| {
            use std::cmp::Ordering;
            if e1.isdir != e2.isdir {
                return if e1.isdir {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
            let (c1, c2) = if ascending { (e1, e2) } else { (e2, e1) };
            let by_key = match key {
                b'M' => c1.lm.cmp(&c2.lm),
                b'S' => c1.size.cmp(&c2.size),
                b'D' => {
                    let (d1, d2) = (
                        c1.desc.as_deref().unwrap_or("").as_bytes(),
                        c2.desc.as_deref().unwrap_or("").as_bytes(),
                    );
                    if version_sort {
                        strnatcmp(d1, d2, false)
                    } else {
                        d1.cmp(d2)
                    }
                }
                _ => Ordering::Equal,
            };
            if by_key != Ordering::Equal {
                return by_key;
            }
            let mut r = Ordering::Equal;
            if version_sort {
                if ignore_case {
                    r = strnatcmp(&c1.name, &c2.name, true);
                }
                if r == Ordering::Equal {
                    r = strnatcmp(&c1.name, &c2.name, false);
                }
            }
            if r == Ordering::Equal && ignore_case {
                r = c1
                    .name
                    .to_ascii_lowercase()
                    .cmp(&c2.name.to_ascii_lowercase());
            }
            if r == Ordering::Equal {
                r = c1.name.cmp(&c2.name);
            }
            r
        });

        let mut out = String::with_capacity(1024 + ents.len() * 200);
        let suppress_amble = opts & SUPPRESS_PREAMBLE != 0;
        // The head: HeaderName's file, as httpd's emit_head includes it.
        let mut emit_amble = true;
        let mut emit_h1 = true;
        if let Some(h) = &req.header {
            if is_html(&h.content_type) {
                emit_amble = false;
                emit_h1 = false;
                if !suppress_amble {
                    self.preamble(&mut out, xhtml, &title);
                }
                out.push_str(&String::from_utf8_lossy(&h.bytes));
            } else if h.content_type.len() >= 5 && h.content_type[..5].eq_ignore_ascii_case("text/")
            {
                self.preamble(&mut out, xhtml, &title);
                emit_amble = false;
                emit_plain(&mut out, &h.bytes);
                emit_h1 = false;
            }
        }
        if emit_amble {
            self.preamble(&mut out, xhtml, &title);
        }
        if emit_h1 {
            let _ = writeln!(out, "<h1>Index of {title}</h1>");
        }
        self.output_directories(
            &mut out,
            &ents,
            opts,
            key,
            direction,
            &colargs,
            req.utc_offset,
        );
        // The tail: ReadmeName's file.
        let mut suppress_post = false;
        if let Some(r) = &req.readme {
            if is_html(&r.content_type) {
                out.push_str(&String::from_utf8_lossy(&r.bytes));
                suppress_post = suppress_amble;
            } else if r.content_type.len() >= 5 && r.content_type[..5].eq_ignore_ascii_case("text/")
            {
                emit_plain(&mut out, &r.bytes);
            }
        }
        // ServerSignature is Off (httpd's default): no signature line.
        if !suppress_post {
            out.push_str("</body></html>\n");
        }
        Page {
            content_type: self.content_type(),
            body: out.into_bytes(),
        }
    }

    fn preamble(&self, out: &mut String, xhtml: bool, title: &str) {
        if xhtml {
            out.push_str(DOCTYPE_XHTML_1_0T);
            let _ = write!(
                out,
                "<html xmlns=\"http://www.w3.org/1999/xhtml\">\n <head>\n  <title>Index of {title}</title>\n"
            );
        } else {
            out.push_str(DOCTYPE_HTML_4_01);
            let _ = write!(out, "<html>\n <head>\n  <title>Index of {title}</title>\n");
        }
        out.push_str(" </head>\n <body>\n");
    }

    fn img_size(&self, out: &mut String, xhtml: bool) {
        if self.icon_width != 0 {
            let _ = write!(out, " width=\"{}\"", self.icon_width);
        }
        if self.icon_height != 0 {
            let _ = write!(out, " height=\"{}\"", self.icon_height);
        }
        if xhtml {
            out.push_str(" /");
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn output_directories(
        &self,
        out: &mut String,
        ents: &[Entry],
        opts: u32,
        key: u8,
        direction: u8,
        colargs: &str,
        utc_offset: i64,
    ) {
        let nosort = opts & SUPPRESS_COLSORT != 0;
        let xhtml = opts & EMIT_XHTML != 0;
        let table = opts & TABLE_INDEXING != 0;
        let fancy = opts & FANCY_INDEXING != 0;
        let mut name_width = self.name_width;
        let mut desc_width = self.desc_width;
        if fancy && !table {
            if self.name_adjust == Adjust::Longest {
                for e in ents {
                    name_width = name_width.max(e.name.len());
                }
            }
            if self.desc_adjust == Adjust::Longest {
                for e in ents {
                    if let Some(d) = &e.desc {
                        desc_width = desc_width.max(d.len());
                    }
                }
            }
        }
        let pad = " ".repeat(name_width);
        let link = |out: &mut String, anchor: &str, column: u8| {
            if nosort {
                out.push_str(anchor);
            } else {
                let order = if key == column && direction == b'A' {
                    'D'
                } else {
                    'A'
                };
                let _ = write!(
                    out,
                    "<a href=\"?C={};O={order}{colargs}\">{anchor}</a>",
                    column as char
                );
            }
        };
        let blank = Self::find(&self.icons, None, None, b"^^BLANKICON^^", true);
        let mut breakrow = String::new();
        if table {
            let mut cols = 1;
            out.push_str("  <table>\n   <tr>");
            if opts & SUPPRESS_ICON == 0 {
                out.push_str("<th valign=\"top\">");
                match blank {
                    Some(tp) => {
                        let _ = write!(out, "<img src=\"{}\" alt=\"[ICO]\"", html(tp));
                        self.img_size(out, xhtml);
                        out.push_str("></th>");
                    }
                    None => out.push_str("&nbsp;</th>"),
                }
                cols += 1;
            }
            out.push_str("<th>");
            link(out, "Name", b'N');
            if opts & SUPPRESS_LAST_MOD == 0 {
                out.push_str("</th><th>");
                link(out, "Last modified", b'M');
                cols += 1;
            }
            if opts & SUPPRESS_SIZE == 0 {
                out.push_str("</th><th>");
                link(out, "Size", b'S');
                cols += 1;
            }
            if opts & SUPPRESS_DESC == 0 {
                out.push_str("</th><th>");
                link(out, "Description", b'D');
                cols += 1;
            }
            if opts & SUPPRESS_RULES == 0 {
                breakrow = format!(
                    "   <tr><th colspan=\"{cols}\"><hr{}></th></tr>\n",
                    if xhtml { " /" } else { "" }
                );
            }
            out.push_str("</th></tr>\n");
            out.push_str(&breakrow);
        } else if fancy {
            out.push_str("<pre>");
            if opts & SUPPRESS_ICON == 0 {
                match blank {
                    Some(tp) => {
                        let _ = write!(out, "<img src=\"{}\" alt=\"Icon \"", html(tp));
                        self.img_size(out, xhtml);
                        out.push_str("> ");
                    }
                    None => out.push_str("      "),
                }
            }
            link(out, "Name", b'N');
            out.push_str(pad.get(4..).unwrap_or(""));
            out.push(' ');
            if opts & SUPPRESS_LAST_MOD == 0 {
                link(out, "Last modified", b'M');
                out.push_str("      ");
            }
            if opts & SUPPRESS_SIZE == 0 {
                link(out, "Size", b'S');
                out.push_str("  ");
            }
            if opts & SUPPRESS_DESC == 0 {
                link(out, "Description", b'D');
            }
            if opts & SUPPRESS_RULES == 0 {
                out.push_str(if xhtml { "<hr />" } else { "<hr>" });
            } else {
                out.push('\n');
            }
        } else {
            out.push_str("<ul>");
        }
        let date_format = |lm: i64| -> String {
            let t =
                eventmpm_core::calendar::DateTime::from_unix(lm.div_euclid(1_000_000) + utc_offset);
            if self.old_dates {
                format!(
                    "{:02}-{}-{:04} {:02}:{:02}",
                    t.day,
                    t.month_name(),
                    t.year,
                    t.hour,
                    t.minute
                )
            } else {
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}",
                    t.year, t.month, t.day, t.hour, t.minute
                )
            }
        };
        for (x, e) in ents.iter().enumerate() {
            let anchor = html(&os_escape_path(&e.name));
            let shown: String = if x == 0 && e.name.first() == Some(&b'/') {
                "Parent Directory".into()
            } else {
                String::from_utf8_lossy(&e.name).into_owned()
            };
            let icon_img = |out: &mut String| {
                if opts & ICONS_ARE_LINKS != 0 {
                    let _ = write!(out, "<a href=\"{anchor}\">");
                }
                match e.icon.as_deref().or(self.default_icon.as_deref()) {
                    Some(icon) => {
                        let _ = write!(
                            out,
                            "<img src=\"{}\" alt=\"[{}]\"",
                            html(icon),
                            e.alt.as_deref().unwrap_or("   ")
                        );
                        self.img_size(out, xhtml);
                        out.push('>');
                        true
                    }
                    None => false,
                }
            };
            // A name too long for NameWidth is cut to its width with "..>".
            let truncated = |shown: &str| -> (String, usize) {
                let bytes = shown.as_bytes();
                if bytes.len() > name_width {
                    let mut t = bytes[..name_width.saturating_sub(3)].to_vec();
                    t.extend_from_slice(b"..>");
                    (String::from_utf8_lossy(&t).into_owned(), name_width)
                } else {
                    (shown.to_string(), bytes.len())
                }
            };
            if table {
                out.push_str("<tr>");
                if opts & SUPPRESS_ICON == 0 {
                    out.push_str("<td valign=\"top\">");
                    if !icon_img(out) {
                        out.push_str("&nbsp;");
                    }
                    out.push_str(if opts & ICONS_ARE_LINKS != 0 {
                        "</a></td>"
                    } else {
                        "</td>"
                    });
                }
                if self.name_adjust == Adjust::Longest {
                    let _ = write!(out, "<td><a href=\"{anchor}\">{}</a>", html(&shown));
                } else {
                    let (t, n) = truncated(&shown);
                    let _ = write!(
                        out,
                        "<td><a href=\"{anchor}\">{}</a>{}",
                        html(&t),
                        pad.get(n..).unwrap_or("")
                    );
                }
                if opts & SUPPRESS_LAST_MOD == 0 {
                    if e.lm != -1 {
                        let _ = write!(out, "</td><td align=\"right\">{}  ", date_format(e.lm));
                    } else {
                        out.push_str("</td><td>&nbsp;");
                    }
                }
                if opts & SUPPRESS_SIZE == 0 {
                    let _ = write!(out, "</td><td align=\"right\">{}", strfsize(e.size));
                }
                if opts & SUPPRESS_DESC == 0 {
                    match &e.desc {
                        Some(d) if self.desc_adjust == Adjust::Longest => {
                            let _ = write!(out, "</td><td>{d}");
                        }
                        Some(d) => {
                            let _ = write!(
                                out,
                                "</td><td>{}",
                                self.terminate_description(d, opts, desc_width)
                            );
                        }
                        None => out.push_str("</td><td>&nbsp;"),
                    }
                }
                out.push_str("</td></tr>\n");
            } else if fancy {
                if opts & SUPPRESS_ICON == 0 {
                    if !icon_img(out) {
                        out.push_str("     ");
                    }
                    out.push_str(if opts & ICONS_ARE_LINKS != 0 {
                        "</a> "
                    } else {
                        " "
                    });
                }
                let (t, n) = truncated(&shown);
                let _ = write!(
                    out,
                    "<a href=\"{anchor}\">{}</a>{}",
                    html(&t),
                    pad.get(n..).unwrap_or("")
                );
                out.push(' ');
                if opts & SUPPRESS_LAST_MOD == 0 {
                    if e.lm != -1 {
                        let _ = write!(out, "{}  ", date_format(e.lm));
                    } else {
                        out.push_str("                   ");
                    }
                }
                if opts & SUPPRESS_SIZE == 0 {
                    out.push_str(&strfsize(e.size));
                    out.push_str("  ");
                }
                if opts & SUPPRESS_DESC == 0
                    && let Some(d) = &e.desc
                {
                    out.push_str(&self.terminate_description(d, opts, desc_width));
                }
                out.push('\n');
            } else {
                let _ = writeln!(out, "<li><a href=\"{anchor}\"> {}</a></li>", html(&shown));
            }
        }
        if table {
            out.push_str(&breakrow);
            out.push_str("</table>\n");
        } else if fancy {
            if opts & SUPPRESS_RULES == 0 {
                out.push_str(if xhtml {
                    "<hr /></pre>\n"
                } else {
                    "<hr></pre>\n"
                });
            } else {
                out.push_str("</pre>\n");
            }
        } else {
            out.push_str("</ul>\n");
        }
    }

    /// mod_autoindex's `terminate_description`: cut a description to its width, counting an
    /// entity as one character and tags as none.
    fn terminate_description(&self, desc: &str, opts: u32, desc_width: usize) -> String {
        let mut maxsize = desc_width as i64;
        if self.desc_adjust == Adjust::Unset {
            if opts & SUPPRESS_ICON != 0 {
                maxsize += 6;
            }
            if opts & SUPPRESS_LAST_MOD != 0 {
                maxsize += 19;
            }
            if opts & SUPPRESS_SIZE != 0 {
                maxsize += 7;
            }
        }
        let d = desc.as_bytes();
        let mut x = 0;
        while x < d.len() && (maxsize > 0 || d[x] == b'<') {
            if d[x] == b'<' {
                while x < d.len() && d[x] != b'>' {
                    x += 1;
                }
                if x >= d.len() {
                    maxsize = 0;
                    break;
                }
            } else if d[x] == b'&' {
                maxsize -= 1;
                while x < d.len() && d[x] != b';' {
                    x += 1;
                }
                if x >= d.len() {
                    maxsize = 0;
                    break;
                }
            } else {
                maxsize -= 1;
            }
            x += 1;
        }
        if maxsize == 0 && x < d.len() && x > 0 {
            let mut t = d[..x - 1].to_vec();
            t.push(b'>');
            return String::from_utf8_lossy(&t).into_owned();
        }
        desc.to_string()
    }
}

fn is_html(ct: &str) -> bool {
    let base = ct.split(';').next().unwrap_or(ct).trim();
    base.eq_ignore_ascii_case("text/html") || base.eq_ignore_ascii_case("application/xhtml+xml")
}

/// mod_autoindex's `do_emit_plain`: a text file in `<pre>`, with `<`, `>` and `&` escaped.
fn emit_plain(out: &mut String, bytes: &[u8]) {
    out.push_str("<pre>\n");
    for c in String::from_utf8_lossy(bytes).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out.push_str("</pre>\n");
}

/// The parent directory's URL-path of the directory `uri` (ending in `/`), or `None` at the
/// root (httpd does not make the root its own parent).
fn parent_of(uri: &[u8]) -> Option<Vec<u8>> {
    let trimmed = uri.strip_suffix(b"/").unwrap_or(uri);
    if trimmed.is_empty() {
        return None;
    }
    let cut = trimmed.iter().rposition(|&b| b == b'/')?;
    Some(trimmed[..=cut].to_vec())
}

/// `%xx` decoding for the `P=` pattern; `None` if malformed or it decodes a `/` or NUL (httpd's
/// `ap_unescape_url` refuses those).
fn unescape_url(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            if v == b'/' || v == 0 {
                return None;
            }
            out.push(v);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn sizes_print_as_apr_strfsize() {
        for (n, s) in [
            (-1, "  - "),
            (0, "  0 "),
            (12, " 12 "),
            (972, "972 "),
            (973, "1.0K"),
            (5000, "4.9K"),
            (9 * 1024 + 972, "9.9K"),
            (108_894, "106K"),
            (1_048_576, "1.0M"),
            (10_485_760, " 10M"),
            (999 * 1024, "1.0M"),
        ] {
            assert_eq!(strfsize(n), s, "{n}");
        }
    }

    #[test]
    fn natural_order_as_apr() {
        assert_eq!(
            strnatcmp(b"file9.txt", b"file10.txt", false),
            Ordering::Less
        );
        assert_eq!(strnatcmp(b"a2", b"a02", false), Ordering::Greater);
        assert_eq!(strnatcmp(b"x1.01", b"x1.1", false), Ordering::Less);
        assert_eq!(strnatcmp(b"abc", b"ABD", true), Ordering::Less);
        assert_eq!(strnatcmp(b"abc", b"abc", false), Ordering::Equal);
        assert_eq!(strnatcmp(b"B", b"a", false), Ordering::Less);
    }

    #[test]
    fn wildcards_match_as_httpd() {
        assert!(strcmp_match(b"/x/a.txt", b"*.txt", false));
        assert!(!strcmp_match(b"/x/a.txt.bak", b"*.txt", false));
        assert!(strcmp_match(b"TEXT/plain", b"text/*", true));
        assert!(strcmp_match(b".htaccess", b".??*", false));
        assert!(!strcmp_match(b".a", b".??*", false));
        assert!(fnmatch(b"*.txt", b"a.txt", true));
        assert!(!fnmatch(b"*.txt", b".a.txt", true));
        assert!(fnmatch(b"[ab]*", b"banana", true));
        assert!(!fnmatch(b"[!ab]*", b"banana", true));
    }

    #[test]
    fn paths_escape_as_ap_os_escape_path() {
        assert_eq!(os_escape_path(b"we ird&<n>.txt"), "we%20ird&%3cn%3e.txt");
        assert_eq!(os_escape_path(b"a:b"), "./a:b");
        assert_eq!(os_escape_path(b"/a:b/"), "/a:b/");
        assert_eq!(os_escape_path("é".as_bytes()), "%c3%a9");
    }

    #[test]
    fn options_parse_and_refuse_as_httpd() {
        let mut s = Settings::default();
        let mut set = |line: &str| {
            let words: Vec<&str> = line.split_whitespace().collect();
            s.directive(&words[0].to_ascii_lowercase(), &words[1..])
                .unwrap()
        };
        set("IndexOptions FancyIndexing VersionSort HTMLTable NameWidth=* DescriptionWidth=* Charset=UTF-8").unwrap();
        assert_eq!(
            set("IndexOptions +None"),
            Err("Cannot combine '+' or '-' with 'None' keyword".into())
        );
        assert_eq!(
            set("IndexOptions Bogus"),
            Err("Invalid directory indexing option".into())
        );
        assert_eq!(
            set("IndexOptions NameWidth=3"),
            Err("NameWidth value must be greater than 5".into())
        );
        assert!(set("IndexOrderDefault Up Name").is_err());
        assert!(set("AddIcon (X,/x.gif .x").is_err());
        set("IndexOptions -HTMLTable").unwrap();
        assert_eq!(s.options() & TABLE_INDEXING, 0);
        assert_ne!(s.options() & FANCY_INDEXING, 0);
        assert_eq!(s.content_type(), "text/html;charset=UTF-8");
        assert_eq!(
            Settings::default().content_type(),
            "text/html;charset=ISO-8859-1"
        );
        assert!(s.directive("documentroot", &["/"]).is_none());
    }

    #[test]
    fn descriptions_are_cut_at_their_width() {
        let s = Settings {
            desc_adjust: Adjust::Fixed,
            ..Settings::default()
        };
        assert_eq!(s.terminate_description("short", 0, 23), "short");
        assert_eq!(
            s.terminate_description("abcdefghijklmnopqrstuvwxyz", 0, 23),
            "abcdefghijklmnopqrstuv>"
        );
        assert_eq!(
            s.terminate_description("<b>bold</b> &amp; more text here ok", 0, 12),
            "<b>bold</b> &amp; more>"
        );
    }

    #[test]
    fn the_parent_of_a_directory() {
        assert_eq!(parent_of(b"/"), None);
        assert_eq!(parent_of(b"/a/"), Some(b"/".to_vec()));
        assert_eq!(parent_of(b"/a/b/"), Some(b"/a/".to_vec()));
    }
}
