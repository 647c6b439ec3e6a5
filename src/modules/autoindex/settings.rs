//! mod_autoindex's directives: `IndexOptions` and its flags, icons, alt texts, descriptions,
//! `IndexIgnore`, `IndexOrderDefault`, `HeaderName`/`ReadmeName`, and the lookups a listing
//! makes in them.

use super::text::{fnmatch, strcmp_match};
use crate::modules::atoi::atoi;

pub(crate) const FANCY_INDEXING: u32 = 1 << 13;
pub(super) const TABLE_INDEXING: u32 = 1 << 14;
pub(super) const SUPPRESS_ICON: u32 = 1 << 1;
pub(super) const SUPPRESS_LAST_MOD: u32 = 1 << 2;
pub(crate) const SUPPRESS_SIZE: u32 = 1 << 5;
pub(super) const SUPPRESS_DESC: u32 = 1 << 6;
pub(super) const SUPPRESS_PREAMBLE: u32 = 1 << 7;
pub(super) const SUPPRESS_COLSORT: u32 = 1 << 8;
pub(super) const SUPPRESS_RULES: u32 = 1 << 9;
pub(crate) const FOLDERS_FIRST: u32 = 1 << 10;
pub(super) const VERSION_SORT: u32 = 1 << 11;
pub(super) const IGNORE_CLIENT: u32 = 1 << 15;
pub(super) const IGNORE_CASE: u32 = 1 << 16;
pub(super) const EMIT_XHTML: u32 = 1 << 17;
pub(super) const ICONS_ARE_LINKS: u32 = 1 << 0;
pub(super) const NO_OPTIONS: u32 = 1 << 21;
/// No plain (non-incremental) `IndexOptions` line at this level: it inherits (httpd's
/// `OPTION_UNSET`, kept in `opts` as httpd keeps it).
pub(super) const OPTION_UNSET: u32 = 1 << 20;

/// Most `AddIcon*`/`AddAlt*`/`AddDescription`/`IndexIgnore` entries one section may give, so
/// that the lists a merge appends stay bounded.
pub const MAX_ITEMS: usize = 4096;

pub(super) const DEFAULT_NAME_WIDTH: usize = 23;
pub(super) const DEFAULT_DESC_WIDTH: usize = 23;

/// What an icon or alt text applies to (`AddIcon`, `AddIconByType`, `AddIconByEncoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum By {
    Path,
    Type,
    Encoding,
}

/// One `AddIcon*`/`AddAlt*` pattern (mod_autoindex's `struct item`).
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) by: By,
    /// The entries it applies to at all: the defining section's path and `*` (httpd's
    /// `apply_path`, from `cmd->path`), `*` at server level.
    pub(super) apply_path: String,
    pub(super) apply_to: String,
    pub(super) data: String,
}

/// One `AddDescription`.
#[derive(Debug, Clone)]
pub(super) struct Desc {
    pub(super) pattern: String,
    pub(super) description: String,
    pub(super) full_path: bool,
    pub(super) wildcards: bool,
}

/// How widths adapt (`NameWidth=*` adjusts to the longest name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Adjust {
    Unset,
    Fixed,
    Longest,
}

/// mod_autoindex's directives, read from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub(super) opts: u32,
    pub(super) add: u32,
    pub(super) remove: u32,
    pub(super) icons: Vec<Item>,
    pub(super) alts: Vec<Item>,
    pub(super) descs: Vec<Desc>,
    /// `IndexIgnore` patterns, each with its `apply_path` (as [`Item`]'s).
    pub(super) ignore: Vec<(String, String)>,
    /// The path of the section these lines are in, as httpd's `cmd->path` (`None` at server
    /// level): what the entries they push apply to.
    pub(super) section_path: Option<String>,
    /// `IndexIgnoreReset On`: this level's `IndexIgnore` list does not take the inherited one.
    pub(super) ignore_reset: bool,
    pub(super) default_icon: Option<String>,
    pub(super) header: Option<String>,
    pub(super) readme: Option<String>,
    pub(super) name_width: usize,
    pub(super) name_adjust: Adjust,
    pub(super) desc_width: usize,
    pub(super) desc_adjust: Adjust,
    pub(super) icon_width: u32,
    pub(super) icon_height: u32,
    pub(super) default_key: Option<u8>,
    pub(super) default_direction: Option<u8>,
    pub(super) ctype: Option<String>,
    pub(super) charset: Option<String>,
    pub(super) old_dates: bool,
    pub(super) not_found: Option<bool>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            opts: OPTION_UNSET,
            add: 0,
            remove: 0,
            icons: Vec::new(),
            alts: Vec::new(),
            descs: Vec::new(),
            ignore: Vec::new(),
            section_path: None,
            ignore_reset: false,
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
            not_found: None,
        }
    }
}

impl Settings {
    /// The options in force: httpd's `opts` as the request's merged configuration holds
    /// them. `+`/`-` lines take effect through a merge; at a level used unmerged (the server's,
    /// where no section with mod_autoindex lines applies) they do nothing, as in httpd.
    pub(crate) fn options(&self) -> u32 {
        if self.opts & NO_OPTIONS != 0 {
            return NO_OPTIONS;
        }
        self.opts & !OPTION_UNSET
    }

    /// `IndexForbiddenReturn404`: 404 instead of 403 where `Options` forbids listings.
    pub fn forbidden_is_not_found(&self) -> bool {
        self.not_found == Some(true)
    }

    /// Whether no line set anything here.
    pub fn is_empty(&self) -> bool {
        self.opts == OPTION_UNSET
            && self.add == 0
            && self.remove == 0
            && self.icons.is_empty()
            && self.alts.is_empty()
            && self.descs.is_empty()
            && self.ignore.is_empty()
            && !self.ignore_reset
            && self.default_icon.is_none()
            && self.header.is_none()
            && self.readme.is_none()
            && self.name_adjust == Adjust::Unset
            && self.desc_adjust == Adjust::Unset
            && self.icon_width == 0
            && self.icon_height == 0
            && self.default_key.is_none()
            && self.default_direction.is_none()
            && self.ctype.is_none()
            && self.charset.is_none()
            && !self.old_dates
            && self.not_found.is_none()
    }

    /// `add` (a section's lines) merged over these (what it inherits), as
    /// `merge_autoindex_configs` does: single values are `add`'s when it sets them; icon,
    /// alt and description lists put `add`'s entries first (they are searched in order, so
    /// the deeper section's win); `IndexIgnore` accumulates unless `add` says
    /// `IndexIgnoreReset On`; a plain `IndexOptions` line replaces the inherited options,
    /// while `+`/`-` ones adjust them and are inherited further down.
    pub fn merge(&self, add: &Settings) -> Settings {
        let (base, add_) = (self, add);
        let pick = |a: &Option<String>, b: &Option<String>| a.clone().or_else(|| b.clone());
        let append = |a: &Vec<Item>, b: &Vec<Item>| a.iter().chain(b).cloned().collect();
        let (mut opts, inc, dec);
        if add_.opts == NO_OPTIONS {
            (opts, inc, dec) = (NO_OPTIONS, 0, 0);
        } else {
            if add_.opts == OPTION_UNSET {
                inc = (base.add | add_.add) & !add_.remove;
                dec = base.remove | add_.remove;
                opts = base.opts & !NO_OPTIONS;
            } else {
                (inc, dec) = (add_.add, add_.remove);
                opts = add_.opts;
            }
            opts |= inc;
            opts &= !dec;
        }
        let (name_width, name_adjust) = if add_.name_adjust == Adjust::Unset {
            (base.name_width, base.name_adjust)
        } else {
            (add_.name_width, add_.name_adjust)
        };
        let (desc_width, desc_adjust) = if add_.desc_adjust == Adjust::Unset {
            (base.desc_width, base.desc_adjust)
        } else {
            (add_.desc_width, add_.desc_adjust)
        };
        Settings {
            opts,
            add: inc,
            remove: dec,
            icons: append(&add_.icons, &base.icons),
            alts: append(&add_.alts, &base.alts),
            descs: add_.descs.iter().chain(&base.descs).cloned().collect(),
            ignore: if add_.ignore_reset {
                add_.ignore.clone()
            } else {
                add_.ignore.iter().chain(&base.ignore).cloned().collect()
            },
            ignore_reset: false,
            section_path: None,
            default_icon: pick(&add_.default_icon, &base.default_icon),
            header: pick(&add_.header, &base.header),
            readme: pick(&add_.readme, &base.readme),
            name_width,
            name_adjust,
            desc_width,
            desc_adjust,
            icon_width: if add_.icon_width != 0 {
                add_.icon_width
            } else {
                base.icon_width
            },
            icon_height: if add_.icon_height != 0 {
                add_.icon_height
            } else {
                base.icon_height
            },
            default_key: add_.default_key.or(base.default_key),
            default_direction: add_.default_direction.or(base.default_direction),
            ctype: pick(&add_.ctype, &base.ctype),
            charset: pick(&add_.charset, &base.charset),
            old_dates: add_.old_dates || base.old_dates,
            not_found: add_.not_found.or(base.not_found),
        }
    }

    /// Lines read from now on are inside the section at `path` (httpd's `cmd->path`: a
    /// `<Directory>`'s path with a trailing `/`, a `<Location>`'s URL-path, a `<Files>`
    /// pattern). httpd matches the icons, alts and ignores they push only against entries
    /// whose file-system path matches `path*`, so those of a `<Location>` apply to nothing.
    pub fn within(&mut self, path: &str) {
        self.section_path = Some(path.to_string());
    }

    fn apply_path(&self) -> String {
        format!("{}*", self.section_path.as_deref().unwrap_or(""))
    }

    fn full(&self, more: usize) -> Result<(), String> {
        let n = self.icons.len() + self.alts.len() + self.descs.len() + self.ignore.len();
        if n + more > MAX_ITEMS {
            Err(format!(
                "more than {MAX_ITEMS} icon, alt, description and ignore entries in one section (eventmpm's bound)"
            ))
        } else {
            Ok(())
        }
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
        let listed = matches!(
            name,
            "addicon"
                | "addiconbytype"
                | "addiconbyencoding"
                | "addalt"
                | "addaltbytype"
                | "addaltbyencoding"
                | "adddescription"
                | "indexignore"
        );
        if listed && let Err(e) = self.full(args.len()) {
            return Some(Err(e));
        }
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
                        self.alts.push(item(by, t, alt, self.apply_path()));
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
                    let apply_path = self.apply_path();
                    self.ignore
                        .extend(args.iter().map(|a| (a.to_string(), apply_path.clone())));
                    Ok(())
                }
            }
            "indexignorereset" => match args {
                [v] if v.eq_ignore_ascii_case("on") => {
                    self.ignore_reset = true;
                    Ok(())
                }
                [v] if v.eq_ignore_ascii_case("off") => {
                    self.ignore_reset = false;
                    Ok(())
                }
                _ => Err("IndexIgnoreReset must be On or Off".into()),
            },
            "indexoptions" => self.index_options(args),
            "indexorderdefault" => self.order_default(args),
            "headername" => one("HeaderName", "a filename").map(|v| self.header = Some(v)),
            "readmename" => one("ReadmeName", "a filename").map(|v| self.readme = Some(v)),
            "defaulticon" => one("DefaultIcon", "an icon URL").map(|v| self.default_icon = Some(v)),
            "indexforbiddenreturn404" => match args {
                [v] if v.eq_ignore_ascii_case("on") => {
                    self.not_found = Some(true);
                    Ok(())
                }
                [v] if v.eq_ignore_ascii_case("off") => {
                    self.not_found = Some(false);
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
            self.alts.push(item(by, to, alt, self.apply_path()));
            icon = url.to_string();
        }
        self.icons.push(item(by, to, &icon, self.apply_path()));
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
fn item(by: By, to: &str, data: &str, apply_path: String) -> Item {
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
        apply_path,
        apply_to,
        data: data.to_string(),
    }
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
    pub(crate) fn ignored(&self, path: &[u8]) -> bool {
        let tt = match path.iter().rposition(|&b| b == b'/') {
            Some(i) => &path[i + 1..],
            None => path,
        };
        self.ignore.iter().any(|(pattern, apply_path)| {
            let ap = match pattern.rfind('/') {
                Some(i) => &pattern[i + 1..],
                None => pattern.as_str(),
            };
            strcmp_match(path, apply_path.as_bytes(), false)
                && strcmp_match(tt, ap.as_bytes(), false)
        })
    }

    /// mod_autoindex's `find_item`.
    pub(super) fn find<'s>(
        list: &'s [Item],
        content_type: Option<&str>,
        encoding: Option<&str>,
        path: &[u8],
        path_only: bool,
    ) -> Option<&'s str> {
        let special = path.first() == Some(&b'^');
        for p in list {
            if !special && !strcmp_match(path, p.apply_path.as_bytes(), false) {
                continue;
            }
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

    pub(super) fn find_desc(&self, full: &[u8]) -> Option<&str> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Unmerged, a `-` line changes nothing (httpd reads `opts` as it is); merged, it does.
        assert_ne!(s.options() & TABLE_INDEXING, 0);
        let merged = Settings::default().merge(&s);
        assert_eq!(merged.options() & TABLE_INDEXING, 0);
        assert_ne!(merged.options() & FANCY_INDEXING, 0);
        assert_eq!(s.content_type(), "text/html;charset=UTF-8");
        assert_eq!(
            Settings::default().content_type(),
            "text/html;charset=ISO-8859-1"
        );
        assert!(s.directive("documentroot", &["/"]).is_none());
    }

    fn lines(s: &mut Settings, text: &str) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            s.directive(&words[0].to_ascii_lowercase(), &words[1..])
                .unwrap()
                .unwrap();
        }
    }

    #[test]
    fn index_options_merge_as_merge_autoindex_configs() {
        let mut server = Settings::default();
        lines(
            &mut server,
            "IndexOptions FancyIndexing HTMLTable\nIndexOptions +FoldersFirst",
        );
        let base = Settings::default().merge(&server);
        assert_eq!(
            base.options(),
            FANCY_INDEXING | TABLE_INDEXING | FOLDERS_FIRST
        );
        // Incremental lines adjust what is inherited, and pass their adjustments down.
        let mut adjust = Settings::default();
        lines(&mut adjust, "IndexOptions -HTMLTable +SuppressSize");
        let adjusted = base.merge(&adjust);
        assert_eq!(
            adjusted.options(),
            FANCY_INDEXING | FOLDERS_FIRST | SUPPRESS_SIZE
        );
        let deeper = adjusted.merge(&Settings::default());
        assert_eq!(deeper.options(), adjusted.options());
        // A plain line replaces everything inherited, +/- included.
        let mut plain = Settings::default();
        lines(&mut plain, "IndexOptions SuppressDescription");
        assert_eq!(adjusted.merge(&plain).options(), SUPPRESS_DESC);
        // None clears, and a later + below it starts from nothing.
        let mut none = Settings::default();
        lines(&mut none, "IndexOptions None");
        let cleared = adjusted.merge(&none);
        assert_eq!(cleared.options(), NO_OPTIONS);
        let mut plus = Settings::default();
        lines(&mut plus, "IndexOptions +IgnoreCase");
        assert_eq!(cleared.merge(&plus).options(), IGNORE_CASE);
        // Widths: the section's if it sets them.
        let mut widths = Settings::default();
        lines(&mut widths, "IndexOptions +NameWidth=40");
        let w = base.merge(&widths);
        assert_eq!((w.name_width, w.name_adjust), (40, Adjust::Fixed));
        assert_eq!(w.merge(&Settings::default()).name_width, 40);
    }

    #[test]
    fn lists_merge_deeper_first_and_ignores_accumulate() {
        let mut server = Settings::default();
        lines(
            &mut server,
            "AddIcon /icons/text.gif .txt\nIndexIgnore *~\nHeaderName HEADER.html\nDefaultIcon /u.gif",
        );
        let mut dir = Settings::default();
        dir.within("/srv/www/sub/");
        lines(
            &mut dir,
            "AddIcon /icons/special.gif .txt\nIndexIgnore *.bak\nReadmeName README.txt",
        );
        let m = Settings::default().merge(&server).merge(&dir);
        let find = |p: &[u8]| Settings::find(&m.icons, None, None, p, false);
        assert_eq!(find(b"/srv/www/sub/a.txt"), Some("/icons/special.gif"));
        // The section's entries apply beneath its path only (httpd's apply_path).
        assert_eq!(find(b"/srv/www/a.txt"), Some("/icons/text.gif"));
        assert!(m.ignored(b"/srv/www/sub/x~") && m.ignored(b"/srv/www/sub/x.bak"));
        assert!(!m.ignored(b"/srv/www/x.bak"));
        assert_eq!(m.inserts(), (Some("HEADER.html"), Some("README.txt")));
        assert_eq!(m.default_icon.as_deref(), Some("/u.gif"));
        // IndexIgnoreReset: the section's own list only.
        let mut reset = Settings::default();
        lines(&mut reset, "IndexIgnoreReset On\nIndexIgnore *.tmp");
        let r = m.merge(&reset);
        assert!(!r.ignored(b"/srv/www/sub/x~") && r.ignored(b"/srv/www/sub/x.tmp"));
        // A <Location>'s icons match no file path.
        let mut loc = Settings::default();
        loc.within("/sub");
        lines(&mut loc, "AddIcon /icons/loc.gif .txt");
        let l = m.merge(&loc);
        assert_eq!(
            Settings::find(&l.icons, None, None, b"/srv/www/sub/a.txt", false),
            Some("/icons/special.gif")
        );
    }
}
