//! Quantities as people write them on a command line: `20%`, `256MiB`, `1.5GiB`, `30s`,
//! `500ms`, `2min`, `1h`, `10`. One parser for every flag that takes one
//! (`compare --max-increase`), so they all accept, and refuse, the same way.

use super::figures::Unit;

/// A parsed quantity, with the text it was parsed from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Quantity {
    /// As given (trimmed).
    pub text: String,
    /// Its value.
    pub amount: Amount,
}

/// The value of a [`Quantity`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Amount {
    /// A percentage.
    Percent(f64),
    /// A memory size, KiB.
    Kib(f64),
    /// A time, seconds.
    Seconds(f64),
    /// A count (a number without a unit).
    Count(u64),
}

impl Amount {
    /// The unit of a figure this amount can be compared with; `None` for a percentage,
    /// which fits any.
    pub(crate) fn unit(self) -> Option<Unit> {
        match self {
            Amount::Percent(_) => None,
            Amount::Kib(_) => Some(Unit::Kib),
            Amount::Seconds(_) => Some(Unit::Seconds),
            Amount::Count(_) => Some(Unit::Count),
        }
    }

    /// The amount in its unit (KiB, seconds, the count, the percentage).
    pub(crate) fn value(self) -> f64 {
        match self {
            Amount::Percent(v) | Amount::Kib(v) | Amount::Seconds(v) => v,
            Amount::Count(c) => c as f64,
        }
    }
}

const FORMS: &str =
    "give a percentage (20%), a size (256MiB, 1.5GiB), a time (30s) or a count (10)";

/// Parse `20%`, `256MiB`, `1.5GiB`, `30s`, `500ms`, `2min`, `1h`, `10`. Sizes are IEC
/// (`KiB`…`TiB`, any case); `MB`, `G` and the like are refused as ambiguous. Errors are
/// one line saying what is accepted.
pub(crate) fn parse(s: &str) -> Result<Quantity, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = (&t[..split], t[split..].trim());
    if num.is_empty() {
        return Err(if t.starts_with('-') {
            "the limit cannot be negative".to_string()
        } else {
            FORMS.to_string()
        });
    }
    let value: f64 = num.parse().map_err(|_| FORMS.to_string())?;
    if !value.is_finite() {
        return Err(FORMS.to_string());
    }
    let amount = match unit.to_ascii_lowercase().as_str() {
        "%" => Amount::Percent(value),
        "kib" => Amount::Kib(value),
        "mib" => Amount::Kib(value * 1024.0),
        "gib" => Amount::Kib(value * 1024.0 * 1024.0),
        "tib" => Amount::Kib(value * 1024.0 * 1024.0 * 1024.0),
        "ms" => Amount::Seconds(value / 1000.0),
        "s" => Amount::Seconds(value),
        "min" => Amount::Seconds(value * 60.0),
        "h" => Amount::Seconds(value * 3600.0),
        "" if num.contains('.') => {
            return Err(format!(
                "a bare number is a count and must be whole; {FORMS}"
            ));
        }
        "" => Amount::Count(num.parse().map_err(|_| FORMS.to_string())?),
        "k" | "kb" | "m" | "mb" | "g" | "gb" | "t" | "tb" => {
            return Err(format!(
                "'{unit}' is ambiguous: memwatch uses IEC sizes (KiB, MiB, GiB, TiB: powers of 1024)"
            ));
        }
        _ => return Err(format!("unknown unit '{unit}': {FORMS}")),
    };
    Ok(Quantity {
        text: t.to_string(),
        amount,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(s: &str) -> Amount {
        parse(s).unwrap().amount
    }

    #[test]
    fn quantities_parse() {
        assert_eq!(amount("20%"), Amount::Percent(20.0));
        assert_eq!(amount(" 2.5% "), Amount::Percent(2.5));
        assert_eq!(amount("256MiB"), Amount::Kib(262_144.0));
        assert_eq!(amount("1.5GiB"), Amount::Kib(1_572_864.0));
        assert_eq!(amount("512kib"), Amount::Kib(512.0));
        assert_eq!(amount("1 TiB"), Amount::Kib(1024.0 * 1024.0 * 1024.0));
        assert_eq!(amount("30s"), Amount::Seconds(30.0));
        assert_eq!(amount("500ms"), Amount::Seconds(0.5));
        assert_eq!(amount("2min"), Amount::Seconds(120.0));
        assert_eq!(amount("1h"), Amount::Seconds(3600.0));
        assert_eq!(amount("10"), Amount::Count(10));
        assert_eq!(amount("0%"), Amount::Percent(0.0));
        assert_eq!(parse("20%").unwrap().text, "20%");
    }

    #[test]
    fn bad_quantities_say_what_is_accepted() {
        for bad in ["", "%", "abc", "-5%", "20 percent", "1.5", "1.2.3%", "5x"] {
            let e = parse(bad).expect_err(bad);
            assert!(!e.contains('\n'), "{bad}: {e}");
        }
        assert!(parse("256MB").unwrap_err().contains("IEC"));
        assert!(parse("1G").unwrap_err().contains("IEC"));
        assert!(parse("-5%").unwrap_err().contains("negative"));
        assert!(parse("abc").unwrap_err().contains("20%"));
        assert!(parse("1.5").unwrap_err().contains("whole"));
    }
}
