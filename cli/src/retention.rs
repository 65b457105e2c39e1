//! `--keep-last/-hourly/-daily/-weekly/-monthly/-yearly N`: which snapshots
//! a policy keeps, with the meaning of restic's `forget --keep-*`
//! (restic's `internal/data/snapshot_policy.go`, read, not copied).
//!
//! Snapshots are taken newest first. `--keep-last N` keeps the N newest.
//! Each calendar rule keeps the newest snapshot of each of the last N
//! hours, days, ISO weeks (Monday to Sunday), months or years that have
//! one, counting only periods that have a snapshot; a rule whose count is
//! not used up when it reaches the oldest snapshot keeps that one too
//! (restic's "oldest daily snapshot"). A snapshot is kept when any rule
//! keeps it. Periods are UTC's, as the snapshots' names. A policy with no
//! rule (every count 0) keeps everything, as restic refuses an empty one.

use jiff::civil::DateTime;
use jiff::tz::Offset;
use jiff::Timestamp;

/// How many periods a rule keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Count {
    /// Not asked for (or 0).
    #[default]
    Off,
    Of(u32),
    /// `unlimited`: every period (restic's -1).
    All,
}

impl std::str::FromStr for Count {
    type Err = String;
    fn from_str(s: &str) -> Result<Count, String> {
        if s == "unlimited" {
            return Ok(Count::All);
        }
        match s.parse::<u32>() {
            Ok(0) => Ok(Count::Off),
            Ok(n) => Ok(Count::Of(n)),
            Err(_) => Err(format!("'{s}' is not a count (a number, or unlimited)")),
        }
    }
}

/// The rules of a policy.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    pub last: Count,
    pub hourly: Count,
    pub daily: Count,
    pub weekly: Count,
    pub monthly: Count,
    pub yearly: Count,
}

/// The calendar period of a rule: snapshots in one period share its key.
#[derive(Clone, Copy)]
enum Period {
    /// Every snapshot is a period of its own.
    Each,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Period {
    fn key(self, t: DateTime, position: usize) -> i64 {
        let (y, m, d, h) = (
            i64::from(t.year()),
            i64::from(t.month()),
            i64::from(t.day()),
            i64::from(t.hour()),
        );
        match self {
            Period::Each => position as i64,
            Period::Hour => ((y * 100 + m) * 100 + d) * 100 + h,
            Period::Day => (y * 100 + m) * 100 + d,
            Period::Week => {
                let w = t.date().iso_week_date();
                i64::from(w.year()) * 100 + i64::from(w.week())
            }
            Period::Month => y * 100 + m,
            Period::Year => y,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Period::Each => "last",
            Period::Hour => "hourly",
            Period::Day => "daily",
            Period::Week => "weekly",
            Period::Month => "monthly",
            Period::Year => "yearly",
        }
    }
}

impl Policy {
    /// Whether any rule is given.
    pub fn is_empty(&self) -> bool {
        self.rules().iter().all(|(c, _)| *c == Count::Off)
    }

    fn rules(&self) -> [(Count, Period); 6] {
        [
            (self.last, Period::Each),
            (self.hourly, Period::Hour),
            (self.daily, Period::Day),
            (self.weekly, Period::Week),
            (self.monthly, Period::Month),
            (self.yearly, Period::Year),
        ]
    }

    /// For each of `times` (in any order), why the policy keeps it (the
    /// rules that keep it, e.g. `["daily", "oldest weekly"]`), or nothing
    /// when it goes.
    pub fn apply(&self, times: &[Timestamp]) -> Vec<Vec<String>> {
        let mut reasons = vec![Vec::new(); times.len()];
        if self.is_empty() {
            for r in &mut reasons {
                r.push("no policy".to_string());
            }
            return reasons;
        }
        // Newest first; equal times keep their order.
        let mut order: Vec<usize> = (0..times.len()).collect();
        order.sort_by(|&a, &b| times[b].cmp(&times[a]));
        let oldest = order.len().saturating_sub(1);
        for (count, period) in self.rules() {
            let mut left = match count {
                Count::Off => continue,
                Count::Of(n) => Some(n),
                Count::All => None,
            };
            let mut previous: Option<i64> = None;
            for (position, &i) in order.iter().enumerate() {
                if left == Some(0) {
                    break;
                }
                let key = period.key(Offset::UTC.to_datetime(times[i]), position);
                let new_period = previous != Some(key);
                if new_period || position == oldest {
                    let why = if new_period {
                        period.name().to_string()
                    } else {
                        format!("oldest {}", period.name())
                    };
                    reasons[i].push(why);
                    previous = Some(key);
                    if let Some(n) = &mut left {
                        *n -= 1;
                    }
                }
            }
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().expect("a timestamp")
    }

    fn kept(policy: Policy, times: &[&str]) -> Vec<String> {
        let ts: Vec<Timestamp> = times.iter().map(|s| t(s)).collect();
        let reasons = policy.apply(&ts);
        let mut out: Vec<String> = times
            .iter()
            .zip(&reasons)
            .filter(|(_, r)| !r.is_empty())
            .map(|(s, _)| s.to_string())
            .collect();
        out.sort();
        out
    }

    /// restic's documentation ("Removing snapshots according to a policy"):
    /// backups every weekday for two weeks, an extra one on Fridays, the
    /// Wednesday missed.
    const RESTIC_DOC: [&str; 11] = [
        "2025-04-21T11:00:00Z",
        "2025-04-22T11:00:00Z",
        "2025-04-23T11:00:00Z",
        "2025-04-24T11:00:00Z",
        "2025-04-25T11:00:00Z",
        "2025-04-25T23:00:00Z",
        "2025-04-28T11:00:00Z",
        "2025-04-29T11:00:00Z",
        "2025-05-01T11:00:00Z",
        "2025-05-02T11:00:00Z",
        "2025-05-02T23:00:00Z",
    ];

    #[test]
    fn keep_daily_5_keeps_what_restics_documentation_shows() {
        let policy = Policy {
            daily: Count::Of(5),
            ..Policy::default()
        };
        assert_eq!(
            kept(policy, &RESTIC_DOC),
            [
                "2025-04-25T23:00:00Z",
                "2025-04-28T11:00:00Z",
                "2025-04-29T11:00:00Z",
                "2025-05-01T11:00:00Z",
                "2025-05-02T23:00:00Z",
            ]
        );
    }

    #[test]
    fn a_count_left_at_the_oldest_keeps_the_oldest() {
        // Two ISO weeks have snapshots; a third weekly is left for the oldest.
        let policy = Policy {
            weekly: Count::Of(3),
            ..Policy::default()
        };
        let ts: Vec<Timestamp> = RESTIC_DOC.iter().map(|s| t(s)).collect();
        let reasons = policy.apply(&ts);
        assert_eq!(reasons[10], ["weekly"]); // Friday 2 May, 23:00
        assert_eq!(reasons[5], ["weekly"]); // Friday 25 April, 23:00
        assert_eq!(reasons[0], ["oldest weekly"]); // Monday 21 April
        assert_eq!(reasons.iter().filter(|r| !r.is_empty()).count(), 3);
        // Used up before the oldest: no extra one.
        let policy = Policy {
            weekly: Count::Of(2),
            ..Policy::default()
        };
        assert!(policy.apply(&ts)[0].is_empty());
    }

    #[test]
    fn keep_last_keeps_the_newest_and_rules_are_ored() {
        let policy = Policy {
            last: Count::Of(2),
            monthly: Count::Of(2),
            ..Policy::default()
        };
        assert_eq!(
            kept(policy, &RESTIC_DOC),
            [
                // the last of April (monthly), the two newest (last)
                "2025-04-29T11:00:00Z",
                "2025-05-02T11:00:00Z",
                "2025-05-02T23:00:00Z",
            ]
        );
    }

    #[test]
    fn the_order_given_does_not_matter_and_unlimited_keeps_every_period() {
        let mut shuffled = RESTIC_DOC;
        shuffled.reverse();
        shuffled.swap(2, 7);
        let policy = Policy {
            daily: Count::All,
            ..Policy::default()
        };
        // One per day: the 23:00 ones on the Fridays.
        let kept = kept(policy, &shuffled);
        assert_eq!(kept.len(), 9);
        assert!(!kept.contains(&"2025-04-25T11:00:00Z".to_string()));
        assert!(!kept.contains(&"2025-05-02T11:00:00Z".to_string()));
    }

    #[test]
    fn iso_weeks_cross_years_and_an_empty_policy_keeps_all() {
        // 2026-01-01 is a Thursday: ISO week 1 of 2026 starts on 29 December 2025.
        let times = [
            "2025-12-28T12:00:00Z", // Sunday, week 52 of 2025
            "2025-12-29T12:00:00Z", // Monday, week 1 of 2026
            "2026-01-02T12:00:00Z", // Friday, week 1 of 2026
        ];
        let policy = Policy {
            weekly: Count::Of(2),
            ..Policy::default()
        };
        assert_eq!(
            kept(policy, &times),
            ["2025-12-28T12:00:00Z", "2026-01-02T12:00:00Z"]
        );
        assert_eq!(kept(Policy::default(), &times).len(), 3);
        assert_eq!("0".parse::<Count>(), Ok(Count::Off));
        assert_eq!("unlimited".parse::<Count>(), Ok(Count::All));
        assert!("-1".parse::<Count>().is_err());
    }
}
