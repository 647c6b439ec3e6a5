//! Rendering a listing as httpd's mod_autoindex writes it: the query's sort and format, the
//! entries' icons and descriptions, the three page formats, the header and readme files.

use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;

use super::settings::*;
use super::text::{escape_uri, fnmatch, html, os_escape_path, strfsize, strnatcmp};
use super::{Page, Request};

const DOCTYPE_HTML_4_01: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n";
const DOCTYPE_XHTML_1_0T: &str = "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n";

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

impl Settings {
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
                    let md = (req.typed)(&d.name);
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
        // APR's natural order is not always transitive (runs of spaces and leading zeros), and
        // the standard sorts may panic on such an order: a merge sort that cannot.
        // Sorted as indices (cheap to move), then the rows put in that order.
        let mut order: Vec<usize> = (start..ents.len()).collect();
        merge_sort_by(&mut order, |&i1, &i2| {
            use std::cmp::Ordering;
            let (e1, e2) = (&ents[i1], &ents[i2]);
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
        let mut taken: Vec<Option<Entry>> = ents.drain(start..).map(Some).collect();
        ents.extend(order.iter().filter_map(|&i| taken[i - start].take()));

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
        // The caller adds the ServerSignature line (the request's host name and port).
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

/// A stable merge sort that never panics, whatever `cmp` answers (at most n log n calls).
fn merge_sort_by<T: Copy>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering) {
    let n = v.len();
    let mut width = 1;
    let mut buf: Vec<T> = v.to_vec();
    while width < n {
        let mut i = 0;
        while i < n {
            let mid = (i + width).min(n);
            let end = (i + 2 * width).min(n);
            let (mut l, mut r, mut k) = (i, mid, i);
            while l < mid && r < end {
                if cmp(&v[r], &v[l]) == std::cmp::Ordering::Less {
                    buf[k] = v[r];
                    r += 1;
                } else {
                    buf[k] = v[l];
                    l += 1;
                }
                k += 1;
            }
            while l < mid {
                buf[k] = v[l];
                l += 1;
                k += 1;
            }
            while r < end {
                buf[k] = v[r];
                r += 1;
                k += 1;
            }
            i = end;
        }
        v.copy_from_slice(&buf);
        width *= 2;
    }
}

pub(super) fn is_html(ct: &str) -> bool {
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
    fn merge_sort_sorts_and_survives_a_broken_order() {
        let mut v: Vec<u32> = (0..1000).map(|i| (i * 7919) % 1000).collect();
        merge_sort_by(&mut v, |a, b| a.cmp(b));
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(v.len(), 1000);
        let mut v: Vec<u32> = (0..100).collect();
        let mut flip = false;
        merge_sort_by(&mut v, |_, _| {
            flip = !flip;
            if flip {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            }
        });
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>(), "a permutation still");
    }

    #[test]
    fn the_parent_of_a_directory() {
        assert_eq!(parent_of(b"/"), None);
        assert_eq!(parent_of(b"/a/"), Some(b"/".to_vec()));
        assert_eq!(parent_of(b"/a/b/"), Some(b"/a/".to_vec()));
    }
}
