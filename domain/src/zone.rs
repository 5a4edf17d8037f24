//! A time zone as a table of its offset changes, which the server builds once from the real zone
//! and sends to the browser with the calendar.
//!
//! The browser needs the team's zone only, but the zone is chosen at run time
//! (`UHUB_TIMEZONE`): compiling `chrono_tz` into the bundle meant the tables of every IANA zone,
//! 0.9 MB of its 3.2 MB, which every page load reads, hashes and decodes. A [`ZoneRules`] is a few
//! KB, and [`Zone`] answers exactly as the zone it was read from (checked against `chrono_tz` by
//! the tests), gaps and repeated hours included.

use std::fmt;
use std::sync::{Mutex, OnceLock, PoisonError};

use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
};
use serde::{Deserialize, Serialize};

/// A zone's offsets: `initial` until the first change, then each change's offset from the UTC
/// second it takes effect. Changes are sorted and each one changes the offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneRules {
    /// The IANA name, as configured.
    pub name: String,
    /// Seconds east of UTC before the first change.
    pub initial: i32,
    /// `(UTC second, seconds east of UTC from then on)`.
    pub changes: Vec<(i64, i32)>,
}

/// The years a table covers: before them the first offset holds, after them the last one, as in
/// `chrono_tz`, whose rules stop in 2037.
const FIRST_YEAR: i32 = 1800;
const LAST_YEAR: i32 = 2200;
const DAY: i64 = 86_400;

impl ZoneRules {
    /// Reads `zone`'s offset changes between 1800 and 2200. Day by day, then to the second where
    /// the offset differs: a zone never changes twice within a day and back.
    pub fn read<Z: TimeZone>(name: &str, zone: &Z) -> Self {
        let offset_at = |second: i64| -> i32 {
            DateTime::from_timestamp(second, 0)
                .map(|at| zone.offset_from_utc_datetime(&at.naive_utc()).fix())
                .map_or(0, |fixed| fixed.local_minus_utc())
        };
        let bound = |year: i32| {
            NaiveDate::from_ymd_opt(year, 1, 1)
                .map_or(0, |day| day.and_time(NaiveTime::MIN).and_utc().timestamp())
        };
        let (mut at, end) = (bound(FIRST_YEAR), bound(LAST_YEAR));
        let initial = offset_at(at);
        let mut current = initial;
        let mut changes = Vec::new();
        while at < end {
            let next = at + DAY;
            if offset_at(next) == current {
                at = next;
                continue;
            }
            // The first second in (at, next] whose offset is not `current`.
            let (mut low, mut high) = (at, next);
            while high - low > 1 {
                let middle = low + (high - low) / 2;
                if offset_at(middle) == current {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            current = offset_at(high);
            changes.push((high, current));
            at = high;
        }
        Self {
            name: name.to_owned(),
            initial,
            changes,
        }
    }

    /// The zone these rules describe. Rules are kept for the life of the process, once per
    /// distinct table (a page holds one zone; reloading it does not add another).
    pub fn zone(&self) -> Zone {
        Zone::kept(|rules| rules == self, || self.clone())
    }

    /// The offset in force at UTC `second`.
    fn offset_at(&self, second: i64) -> i32 {
        let after = self.changes.partition_point(|(at, _)| *at <= second);
        after
            .checked_sub(1)
            .map_or(self.initial, |index| self.changes[index].1)
    }

    /// Span `index` (0: before the first change): its offset, and the UTC seconds it covers.
    fn span(&self, index: usize) -> (i32, Option<i64>, Option<i64>) {
        let offset = index
            .checked_sub(1)
            .map_or(self.initial, |before| self.changes[before].1);
        let begin = index.checked_sub(1).map(|before| self.changes[before].0);
        let end = self.changes.get(index).map(|(at, _)| *at);
        (offset, begin, end)
    }

    /// The offsets under which local second `local` exists: none in a gap, two in a repeated
    /// hour (the earlier instant first), as `chrono_tz` answers.
    fn offsets_for_local(&self, local: i64) -> LocalResult<i32> {
        // Spans whose local start is not after `local`; only the last two can still cover it
        // (spans last far longer than any offset change).
        let started = self
            .changes
            .partition_point(|(at, offset)| at + i64::from(*offset) <= local)
            + 1;
        let mut covering = (started.saturating_sub(2)..started).filter_map(|index| {
            let (offset, begin, end) = self.span(index);
            let offset_seconds = i64::from(offset);
            let after_begin = begin.is_none_or(|begin| begin + offset_seconds <= local);
            let before_end = end.is_none_or(|end| local < end + offset_seconds);
            (after_begin && before_end).then_some(offset)
        });
        match (covering.next(), covering.next()) {
            (None, _) => LocalResult::None,
            (Some(only), None) => LocalResult::Single(only),
            (Some(earlier), Some(later)) => LocalResult::Ambiguous(earlier, later),
        }
    }
}

/// A zone read from [`ZoneRules`]: `Copy`, like `chrono_tz::Tz`, so views capture it freely.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Zone(&'static ZoneRules);

impl Zone {
    /// The zone read from `zone` under `name`, read once per process: reading probes 400 years.
    /// The server's tables all come from here, so a name stands for one table.
    pub fn read_once<Z: TimeZone>(name: &str, zone: &Z) -> Zone {
        Zone::kept(|rules| rules.name == name, || ZoneRules::read(name, zone))
    }

    /// The kept table `is_it` recognises, or else the one `make` gives, kept from now on.
    /// One list serves both ways in: a handful of zones at most, so a search is enough.
    fn kept(is_it: impl Fn(&ZoneRules) -> bool, make: impl FnOnce() -> ZoneRules) -> Zone {
        static KEPT: OnceLock<Mutex<Vec<&'static ZoneRules>>> = OnceLock::new();
        let mut kept = KEPT
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(rules) = kept.iter().find(|rules| is_it(rules)) {
            return Zone(rules);
        }
        let rules: &'static ZoneRules = Box::leak(Box::new(make()));
        kept.push(rules);
        Zone(rules)
    }

    /// The IANA name.
    pub fn name(&self) -> &'static str {
        &self.0.name
    }

    fn offset(&self, seconds: i32) -> ZoneOffset {
        // Offsets read from a real zone are within ±24 h; UTC if a table said otherwise.
        let fixed = FixedOffset::east_opt(seconds).unwrap_or_else(|| chrono::Utc.fix());
        ZoneOffset { zone: *self, fixed }
    }
}

/// A zone travels as its table (the browser has no zone database) and is kept again on arrival.
impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ZoneRules::deserialize(deserializer).map(|rules| rules.zone())
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.name)
    }
}

/// The offset of a [`Zone`] at some instant.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ZoneOffset {
    zone: Zone,
    fixed: FixedOffset,
}

impl Offset for ZoneOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl fmt::Debug for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.fixed)
    }
}

impl fmt::Display for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.fixed)
    }
}

impl TimeZone for Zone {
    type Offset = ZoneOffset;

    fn from_offset(offset: &ZoneOffset) -> Self {
        offset.zone
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> LocalResult<ZoneOffset> {
        // As `chrono_tz`: one offset that occurs on that day, preferring the day's start.
        let at = |time: NaiveTime| self.offset_from_local_datetime(&local.and_time(time));
        let last = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN);
        match (at(NaiveTime::MIN), at(last)) {
            (LocalResult::Single(offset), _) | (_, LocalResult::Single(offset)) => {
                LocalResult::Single(offset)
            }
            (LocalResult::Ambiguous(offset, _), _) | (_, LocalResult::Ambiguous(offset, _)) => {
                LocalResult::Single(offset)
            }
            (LocalResult::None, LocalResult::None) => LocalResult::None,
        }
    }

    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> LocalResult<ZoneOffset> {
        self.0
            .offsets_for_local(local.and_utc().timestamp())
            .map(|seconds| self.offset(seconds))
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> ZoneOffset {
        self.offset_from_utc_datetime(&utc.and_time(NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> ZoneOffset {
        self.offset(self.0.offset_at(utc.and_utc().timestamp()))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;

    /// Zones with every kind of change: DST both ways and both hemispheres, half-hour and
    /// 45-minute offsets, a 30-minute DST (Lord Howe), a skipped day (Apia, 2011), DST at
    /// midnight (São Paulo), Ramadan suspensions (Casablanca), and no change at all.
    const ZONES: &[chrono_tz::Tz] = &[
        chrono_tz::Europe::Paris,
        chrono_tz::Europe::London,
        chrono_tz::America::New_York,
        chrono_tz::America::Sao_Paulo,
        chrono_tz::America::St_Johns,
        chrono_tz::Australia::Sydney,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Asia::Kathmandu,
        chrono_tz::Asia::Tehran,
        chrono_tz::Pacific::Apia,
        chrono_tz::Africa::Casablanca,
        chrono_tz::UTC,
    ];

    fn local_offsets<Z: TimeZone>(zone: &Z, local: &NaiveDateTime) -> Vec<FixedOffset> {
        match zone.offset_from_local_datetime(local) {
            LocalResult::None => vec![],
            LocalResult::Single(offset) => vec![offset.fix()],
            LocalResult::Ambiguous(earlier, later) => vec![earlier.fix(), later.fix()],
        }
    }

    /// `naive` read as a UTC instant and as a local time: the same offsets in both zones.
    fn assert_same_offsets(zone: &Zone, tz: &chrono_tz::Tz, naive: &NaiveDateTime) {
        assert_eq!(
            zone.offset_from_utc_datetime(naive).fix(),
            tz.offset_from_utc_datetime(naive).fix(),
            "{} from UTC at {naive}",
            tz.name()
        );
        assert_eq!(
            local_offsets(zone, naive),
            local_offsets(tz, naive),
            "{} from local {naive}",
            tz.name()
        );
    }

    #[test]
    fn a_zone_read_from_chrono_tz_answers_as_chrono_tz_around_every_change() {
        for tz in ZONES {
            let rules = ZoneRules::read(tz.name(), tz);
            let zone = rules.zone();
            assert_eq!(zone.name(), tz.name());
            // Every change from 1900 to 2100, 3 hours either side, in 5-minute steps, from UTC
            // and from local time; and each day's offset (`offset_from_local_date`).
            let from = NaiveDate::from_ymd_opt(1900, 1, 1).map(|d| d.and_time(NaiveTime::MIN));
            let until = NaiveDate::from_ymd_opt(2100, 1, 1).map(|d| d.and_time(NaiveTime::MIN));
            let (Some(from), Some(until)) = (from, until) else {
                panic!("dates")
            };
            let (from, until) = (from.and_utc().timestamp(), until.and_utc().timestamp());
            let mut checked = 0;
            for (at, _) in rules
                .changes
                .iter()
                .filter(|(at, _)| (from..until).contains(at))
            {
                for step in -36..=36 {
                    let second = at + step * 300;
                    let Some(instant) = DateTime::from_timestamp(second, 0) else {
                        continue;
                    };
                    let naive = instant.naive_utc();
                    assert_same_offsets(&zone, tz, &naive);
                    #[allow(deprecated)]
                    let (ours, theirs) = (
                        zone.offset_from_local_date(&naive.date()).map(|o| o.fix()),
                        tz.offset_from_local_date(&naive.date()).map(|o| o.fix()),
                    );
                    assert_eq!(ours, theirs, "{} on {}", tz.name(), naive.date());
                    checked += 1;
                }
            }
            // Every zone but UTC changed at least once since 1900 (Kathmandu: twice).
            if *tz != chrono_tz::UTC {
                assert!(
                    checked >= 73,
                    "{}: only {checked} instants checked",
                    tz.name()
                );
            }
        }
    }

    #[test]
    fn a_zone_answers_as_chrono_tz_at_random_instants_and_beyond_its_years() {
        // A fixed generator: the same instants on every run, from 1700 to 2300.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let span = 600 * 365 * DAY;
        let start = -270 * 365 * DAY;
        for tz in ZONES {
            let zone = ZoneRules::read(tz.name(), tz).zone();
            for _ in 0..4_000 {
                let second = start + (next() % span as u64) as i64;
                let Some(instant) = DateTime::from_timestamp(second, 0) else {
                    continue;
                };
                assert_same_offsets(&zone, tz, &instant.naive_utc());
            }
        }
    }

    #[test]
    fn the_calendar_rules_give_the_same_days_and_windows_with_a_read_zone() {
        let tz = chrono_tz::Europe::Paris;
        let zone = ZoneRules::read(tz.name(), &tz).zone();
        // The spring-forward and fall-back days of 2030, and a plain day.
        for day in ["2030-03-31", "2030-10-27", "2030-06-05"] {
            let Ok(day) = NaiveDate::parse_from_str(day, "%Y-%m-%d") else {
                panic!("date")
            };
            let start = crate::calendar::start_of_day(day, &zone);
            assert_eq!(start, crate::calendar::start_of_day(day, &tz));
            for hours in 0..30 {
                let at = start + Duration::hours(hours);
                assert_eq!(
                    crate::calendar::day_of(at, &zone),
                    crate::calendar::day_of(at, &tz)
                );
                assert_eq!(
                    at.with_timezone(&zone)
                        .format("%Y-%m-%d %H:%M %:z")
                        .to_string(),
                    at.with_timezone(&tz)
                        .format("%Y-%m-%d %H:%M %:z")
                        .to_string()
                );
            }
        }
        let rules = ZoneRules::read(tz.name(), &tz);
        assert_eq!(
            rules.zone(),
            rules.clone().zone(),
            "one kept copy per table"
        );
        assert_eq!(
            Zone::read_once(tz.name(), &tz),
            zone,
            "read once, then kept"
        );
        let arrived =
            serde_json::to_string(&zone).and_then(|json| serde_json::from_str::<Zone>(&json));
        assert!(
            matches!(arrived, Ok(back) if back == zone),
            "a zone travels as its table: {arrived:?}"
        );
        assert!(
            Utc::now()
                .with_timezone(&zone)
                .offset()
                .fix()
                .local_minus_utc()
                >= 3600
        );
    }
}
