//! Version comparison, as the package managers themselves compare: dpkg's for Debian packages and
//! rpm's for RPM packages. Each rule is a transcription of the named C function.

use std::cmp::Ordering;

/// A Debian version `[epoch:]upstream[-revision]`, compared as dpkg does
/// (dpkg, `lib/dpkg/version.c`, `dpkg_version_compare`: epoch as a number, then `verrevcmp` on the
/// upstream version, then on the revision).
pub fn deb_cmp(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = deb_parts(a);
    let (eb, ub, rb) = deb_parts(b);
    ea.cmp(&eb)
        .then_with(|| verrevcmp(ua, ub))
        .then_with(|| verrevcmp(ra, rb))
}

/// Epoch, upstream version and revision (dpkg, `lib/dpkg/parsehelp.c`, `parseversion`: the epoch
/// is before the first `:`, the revision after the last `-`).
fn deb_parts(v: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) => (e.parse().unwrap_or(0), rest),
        None => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    }
}

/// dpkg's `order`: digits sort as 0, letters as themselves, `~` before everything (even the end of
/// the string), other characters after letters.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit parts (compared by `order`, character by
/// character) and digit parts (compared as numbers, leading zeros ignored).
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        let mut first_diff = 0i32;
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        while digit(a, i) && digit(b, j) {
            if first_diff == 0 {
                first_diff = i32::from(a[i]) - i32::from(b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

/// rpm's `rpmvercmp` (rpm 4.18, `rpmio/rpmvercmp.c`): alphanumeric segments, separators skipped,
/// `~` sorting before everything and `^` after the end of a base version; numeric segments are
/// newer than alphabetic ones.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut one, mut two) = (0, 0);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    while one < a.len() || two < b.len() {
        while one < a.len() && sep(a[one]) {
            one += 1;
        }
        while two < b.len() && sep(b[two]) {
            two += 1;
        }
        let (ca, cb) = (a.get(one).copied(), b.get(two).copied());
        match tilde_or_caret(ca, cb) {
            Some(Ordering::Equal) => {
                one += 1;
                two += 1;
                continue;
            }
            Some(decided) => return decided,
            None => {}
        }
        if ca.is_none() || cb.is_none() {
            break;
        }
        match segment(a, b, one, two) {
            Ok((end1, end2)) => (one, two) = (end1, end2),
            Err(decided) => return decided,
        }
    }
    match (one >= a.len(), two >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// rpmvercmp's `~` (before everything, even the end) and `^` (after the end of a base version,
/// before anything else): `Some(Equal)` when both sides have the same one (skip it), the ordering
/// when it decides, `None` when neither side has one.
fn tilde_or_caret(ca: Option<u8>, cb: Option<u8>) -> Option<Ordering> {
    if ca == Some(b'~') || cb == Some(b'~') {
        return Some(match (ca == Some(b'~'), cb == Some(b'~')) {
            (false, _) => Ordering::Greater,
            (_, false) => Ordering::Less,
            _ => Ordering::Equal,
        });
    }
    if ca == Some(b'^') || cb == Some(b'^') {
        return Some(match (ca, cb) {
            (None, _) => Ordering::Less,
            (_, None) => Ordering::Greater,
            (Some(x), _) if x != b'^' => Ordering::Greater,
            (_, Some(y)) if y != b'^' => Ordering::Less,
            _ => Ordering::Equal,
        });
    }
    None
}

/// One numeric (or alphabetic) segment of each side, compared: where both end when they are
/// equal, else the ordering (a numeric segment is newer than an alphabetic one; numbers compare
/// by length once leading zeros are dropped, then as text).
fn segment(a: &[u8], b: &[u8], one: usize, two: usize) -> Result<(usize, usize), Ordering> {
    let numeric = a[one].is_ascii_digit();
    let class = |c: &u8| {
        if numeric {
            c.is_ascii_digit()
        } else {
            c.is_ascii_alphabetic()
        }
    };
    let end1 = one + a[one..].iter().take_while(|c| class(c)).count();
    let end2 = two + b[two..].iter().take_while(|c| class(c)).count();
    if end2 == two {
        return Err(if numeric {
            Ordering::Greater
        } else {
            Ordering::Less
        });
    }
    let (mut s1, mut s2) = (&a[one..end1], &b[two..end2]);
    if numeric {
        while s1.first() == Some(&b'0') {
            s1 = &s1[1..];
        }
        while s2.first() == Some(&b'0') {
            s2 = &s2[1..];
        }
        if s1.len() != s2.len() {
            return Err(s1.len().cmp(&s2.len()));
        }
    }
    match s1.cmp(s2) {
        Ordering::Equal => Ok((end1, end2)),
        other => Err(other),
    }
}

/// An RPM `[epoch:]version[-release]` as primary.xml and dependencies give it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Evr {
    pub epoch: Option<String>,
    pub version: String,
    pub release: Option<String>,
}

impl Evr {
    /// Two package versions in order (rpm 4.18, `rpmio/rpmver.c`, `rpmverCmp`: a missing epoch
    /// is 0, a missing part sorts before a present one).
    pub fn compare(&self, other: &Evr) -> Ordering {
        let e1 = self.epoch.as_deref().unwrap_or("0");
        let e2 = other.epoch.as_deref().unwrap_or("0");
        rpmvercmp(e1, e2)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                (Some(_), None) => Ordering::Greater,
                (None, Some(_)) => Ordering::Less,
                (None, None) => Ordering::Equal,
            })
    }
}

impl std::fmt::Display for Evr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(e) = self.epoch.as_deref().filter(|e| *e != "0") {
            write!(f, "{e}:")?;
        }
        f.write_str(&self.version)?;
        if let Some(r) = &self.release {
            write!(f, "-{r}")?;
        }
        Ok(())
    }
}

/// The comparison of a dependency: `<<`/`<`, `<=`, `=`, `>=`, `>>`/`>` (Debian), `LT` ... `GT`
/// (RPM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Op {
    /// The RPM sense bits (`RPMSENSE_LESS` 2, `GREATER` 4, `EQUAL` 8).
    fn sense(self) -> (bool, bool, bool) {
        match self {
            Op::Lt => (true, false, false),
            Op::Le => (true, false, true),
            Op::Eq => (false, false, true),
            Op::Ge => (false, true, true),
            Op::Gt => (false, true, false),
        }
    }

    /// Whether `ordering` (a version compared with the wanted one) satisfies the operator.
    pub fn accepts(self, ordering: Ordering) -> bool {
        match self {
            Op::Lt => ordering == Ordering::Less,
            Op::Le => ordering != Ordering::Greater,
            Op::Eq => ordering == Ordering::Equal,
            Op::Ge => ordering != Ordering::Less,
            Op::Gt => ordering == Ordering::Greater,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">>",
        }
    }
}

/// Whether two RPM ranges overlap (rpm 4.18, `rpmio/rpmver.c`, `rpmverOverlap`): a release
/// missing on one side matches when that side's range includes equality.
pub fn rpm_overlap(v1: &Evr, f1: Op, v2: &Evr, f2: Op) -> bool {
    let nonzero = |e: &Option<String>| {
        e.as_deref()
            .is_some_and(|e| !e.is_empty() && e.parse::<u64>().unwrap_or(0) > 0)
    };
    let mut sense = match (&v1.epoch, &v2.epoch) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => rpmvercmp(a, b),
        _ if nonzero(&v1.epoch) => Ordering::Greater,
        _ if nonzero(&v2.epoch) => Ordering::Less,
        _ => Ordering::Equal,
    };
    let (l1, g1, e1) = f1.sense();
    let (l2, g2, e2) = f2.sense();
    if sense == Ordering::Equal {
        sense = rpmvercmp(&v1.version, &v2.version);
        if sense == Ordering::Equal {
            let present = |r: &Option<String>| r.as_deref().is_some_and(|r| !r.is_empty());
            match (present(&v1.release), present(&v2.release)) {
                (true, true) => {
                    sense = rpmvercmp(
                        v1.release.as_deref().unwrap_or(""),
                        v2.release.as_deref().unwrap_or(""),
                    )
                }
                (true, false) if e2 => return true,
                (false, true) if e1 => return true,
                _ => {}
            }
        }
    }
    match sense {
        Ordering::Less => g1 || l2,
        Ordering::Greater => l1 || g2,
        Ordering::Equal => (e1 && e2) || (l1 && l2) || (g1 && g2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn dpkg_orders_as_its_test_suite_does() {
        // Cases from dpkg's own tests (lib/dpkg/t/t-version.c) and Debian policy 5.6.12.
        for (a, b, want) in [
            ("1.0", "1.0", Equal),
            ("1.0", "1.0-0", Equal),
            ("0:1.0", "1.0", Equal),
            ("1:0.5", "2.0", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0~~", "1.0~~a", Less),
            ("1.0~", "1.0", Less),
            ("1.0a", "1.0", Greater),
            ("1.0+b1", "1.0", Greater),
            ("1.0-1", "1.0-1+b1", Less),
            ("1.10", "1.9", Greater),
            ("1.001", "1.1", Equal),
            ("2.31-13+deb11u5", "2.31-13+deb11u11", Less),
            ("6.0.5-3", "6.0.5-2.1", Greater),
            ("1.0-a", "1.0-+", Less),
        ] {
            assert_eq!(deb_cmp(a, b), want, "{a} vs {b}");
            assert_eq!(deb_cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn rpmvercmp_orders_as_its_test_suite_does() {
        // From rpm's tests/rpmvercmp.at.
        for (a, b, want) in [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("2.0.1a", "2.0.1", Greater),
            ("5.5p1", "5.5p2", Less),
            ("5.5p10", "5.5p1", Greater),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("xyz.4", "8", Less),
            ("1.0aa", "1.0a", Greater),
            ("1b.fc17", "1.fc17", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1~git123", "1.0~rc1", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0^git2", Less),
            ("1.0^git1~pre", "1.0^git1", Less),
            ("1.0^git1", "1.01", Less),
            ("2_0", "2_0", Equal),
            ("2.0", "2_0", Equal),
            ("a", "a", Equal),
            ("a+", "a_", Equal),
            ("+", "_", Equal),
        ] {
            assert_eq!(rpmvercmp(a, b), want, "{a} vs {b}");
            assert_eq!(rpmvercmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    fn evr(e: Option<&str>, v: &str, r: Option<&str>) -> Evr {
        Evr {
            epoch: e.map(str::to_string),
            version: v.to_string(),
            release: r.map(str::to_string),
        }
    }

    #[test]
    fn rpm_ranges_overlap_as_rpmds_does() {
        let provided = evr(None, "1.2", Some("3.amzn2023"));
        assert!(rpm_overlap(
            &provided,
            Op::Eq,
            &evr(None, "1.2", None),
            Op::Ge
        ));
        assert!(rpm_overlap(
            &provided,
            Op::Eq,
            &evr(None, "1.2", None),
            Op::Eq
        ));
        assert!(!rpm_overlap(
            &provided,
            Op::Eq,
            &evr(None, "1.3", None),
            Op::Ge
        ));
        assert!(rpm_overlap(
            &provided,
            Op::Eq,
            &evr(None, "1.3", None),
            Op::Lt
        ));
        assert!(rpm_overlap(
            &provided,
            Op::Eq,
            &evr(Some("1"), "1.0", None),
            Op::Le
        ));
        assert!(!rpm_overlap(
            &provided,
            Op::Eq,
            &evr(None, "1.2", Some("4")),
            Op::Ge
        ));
    }
}
