//! Working days and due dates.
//!
//! Processing times of procedures are given in working days (ngày làm việc): Saturdays,
//! Sundays and the configured holidays (table `holidays`) are not counted.
//!
//! When the count starts, and when it ends (our reading of the Civil Code 2015, Arts. 147–148,
//! which the TTHC rules refer to for time limits; vn-standards.md does not fix it):
//! - the day of receipt is not counted; day 1 is the first working day after it, whatever the
//!   hour of receipt (so a dossier received on Saturday or after hours counts from the next
//!   working day, like one received that morning);
//! - the limit ends at the end of the last day: `due_at` is 23:59:59 Vietnam time (UTC+7) of
//!   the N-th working day;
//! - 0 days ("trong ngày") is due at the end of the day of receipt, or of the next working
//!   day when it was received on a day off.
//!
//! Dates are Vietnam's (UTC+7, no daylight saving), as on the receipt form.

use std::collections::BTreeSet;

use serde::Serialize;
use time::macros::offset;
use time::{Date, OffsetDateTime, Time, UtcOffset, Weekday};

use super::audit::{AuditRecord, append};
use super::dossiers::checked_actor;
use super::tx::{Begin, Tx};
use super::{Archive, ArchiveError, Db, stored_time};

/// Vietnam's time zone, Asia/Ho_Chi_Minh: UTC+7 all year.
pub const VIETNAM: UtcOffset = offset!(+7);

/// The calendar date of `at` in Vietnam.
pub fn local_date(at: OffsetDateTime) -> Date {
    at.to_offset(VIETNAM).date()
}

/// Monday to Friday, and not a holiday.
pub fn is_working_day(day: Date, holidays: &BTreeSet<Date>) -> bool {
    !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) && !holidays.contains(&day)
}

/// The day a procedure of `processing_days` working days received on `received` is due
/// (see the module documentation for the rule). `holidays` must hold every holiday from
/// `received` up to the result ([`due_window_end`] tells how far to load them).
pub fn due_date(received: Date, processing_days: u32, holidays: &BTreeSet<Date>) -> Date {
    let mut day = received;
    if processing_days == 0 {
        while !is_working_day(day, holidays) {
            day = day.next_day().unwrap_or(Date::MAX);
        }
        return day;
    }
    let mut left = processing_days;
    while left > 0 {
        day = day.next_day().unwrap_or(Date::MAX);
        if is_working_day(day, holidays) {
            left -= 1;
        }
    }
    day
}

/// A first guess of the last date [`due_date`] can need holidays for: two calendar days per
/// working day plus two months covers any realistic year of holidays. The caller checks the
/// result lies within it and widens it otherwise.
pub fn due_window_end(received: Date, processing_days: u32, widenings: u32) -> Date {
    let days = (i64::from(processing_days) * 2 + 60) << widenings.min(8);
    received
        .checked_add(time::Duration::days(days))
        .unwrap_or(Date::MAX)
}

/// The end of `day` in Vietnam (23:59:59 +07:00), as a UTC instant.
pub fn end_of_day(day: Date) -> OffsetDateTime {
    day.with_time(Time::from_hms(23, 59, 59).unwrap_or(Time::MIDNIGHT))
        .assume_offset(VIETNAM)
        .to_offset(UtcOffset::UTC)
}

/// A configured non-working day (row of `holidays`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Holiday {
    #[serde(with = "iso_date")]
    pub day: Date,
    pub name: String,
    #[serde(with = "vn_time")]
    pub created_at: OffsetDateTime,
}

impl Archive {
    /// Declares `day` a non-working day. Due dates computed from now on skip it; dossiers
    /// already received keep theirs.
    ///
    /// # Errors
    /// [`ArchiveError::HolidayExists`], [`ArchiveError::FieldInvalid`],
    /// [`ArchiveError::Database`].
    pub async fn add_holiday(
        &self,
        day: Date,
        name: &str,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Holiday, ArchiveError> {
        let actor = checked_actor(actor)?;
        let name: String = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ArchiveError::FieldInvalid {
                field: "name",
                value: name,
                reason: "expected 1 to 200 characters".to_owned(),
            });
        }
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            if !tx.insert_holiday(day, &name, now).await? {
                return Err(ArchiveError::HolidayExists { day });
            }
            let id = day.to_string();
            let details = serde_json::json!({ "name": name });
            let record = AuditRecord {
                actor: &actor,
                action: "holiday.add",
                object_kind: "holiday",
                object_id: &id,
                details,
            };
            append(&mut tx, record, now).await?;
            tx.commit().await?;
            Ok(Holiday { day, name, created_at: now })
        })
    }

    /// Makes `day` a working day again (when not a weekend).
    ///
    /// # Errors
    /// [`ArchiveError::HolidayNotFound`], [`ArchiveError::Database`].
    pub async fn remove_holiday(
        &self,
        day: Date,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<(), ArchiveError> {
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            if !tx.delete_holiday(day).await? {
                return Err(ArchiveError::HolidayNotFound { day });
            }
            let id = day.to_string();
            let record = AuditRecord {
                actor: &actor,
                action: "holiday.remove",
                object_kind: "holiday",
                object_id: &id,
                details: serde_json::json!({}),
            };
            append(&mut tx, record, now).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// The holidays from `from` to `to`, inclusive, in date order.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn holidays(&self, from: Date, to: Date) -> Result<Vec<Holiday>, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let holidays = tx.holidays_between(from, to).await?;
            tx.rollback().await?;
            Ok(holidays)
        })
    }
}

/// Serde: an instant as RFC 3339 in Vietnam time, e.g. `2026-11-30T23:59:59+07:00`.
pub mod vn_time {
    use serde::Serializer;
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub fn serialize<S: Serializer>(at: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        let text = at
            .to_offset(super::VIETNAM)
            .format(&Rfc3339)
            .map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    /// The same for an optional instant (`null` when absent).
    pub mod option {
        use serde::Serializer;
        use time::OffsetDateTime;

        pub fn serialize<S: Serializer>(
            at: &Option<OffsetDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, s),
                None => s.serialize_none(),
            }
        }
    }
}

/// Serde: a date as `YYYY-MM-DD`.
pub mod iso_date {
    use serde::Serializer;
    use time::Date;

    pub fn serialize<S: Serializer>(day: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn holidays(days: &[Date]) -> BTreeSet<Date> {
        days.iter().copied().collect()
    }

    #[test]
    fn the_day_of_receipt_is_not_counted_and_weekends_are_skipped() {
        let none = BTreeSet::new();
        // Monday 23 Nov 2026 + 5 working days = Monday 30 Nov.
        assert_eq!(
            due_date(date!(2026 - 11 - 23), 5, &none),
            date!(2026 - 11 - 30)
        );
        // Thursday + 2 = Monday.
        assert_eq!(
            due_date(date!(2026 - 11 - 26), 2, &none),
            date!(2026 - 11 - 30)
        );
        // Received on Saturday: day 1 is Monday.
        assert_eq!(
            due_date(date!(2026 - 11 - 28), 1, &none),
            date!(2026 - 11 - 30)
        );
    }

    #[test]
    fn configured_holidays_are_skipped() {
        // Tết 2027 (illustrative): Friday 5 Feb to Friday 12 Feb off.
        let tet = holidays(&[
            date!(2027 - 02 - 05),
            date!(2027 - 02 - 08),
            date!(2027 - 02 - 09),
            date!(2027 - 02 - 10),
            date!(2027 - 02 - 11),
            date!(2027 - 02 - 12),
        ]);
        // Thursday 4 Feb + 3 working days: 15, 16, 17 Feb.
        assert_eq!(
            due_date(date!(2027 - 02 - 04), 3, &tet),
            date!(2027 - 02 - 17)
        );
        assert_eq!(
            due_date(date!(2027 - 02 - 04), 3, &BTreeSet::new()),
            date!(2027 - 02 - 09)
        );
    }

    #[test]
    fn zero_days_is_due_the_same_working_day() {
        let none = BTreeSet::new();
        assert_eq!(
            due_date(date!(2026 - 11 - 23), 0, &none),
            date!(2026 - 11 - 23)
        );
        assert_eq!(
            due_date(date!(2026 - 11 - 29), 0, &none),
            date!(2026 - 11 - 30)
        );
        let holiday = holidays(&[date!(2026 - 11 - 30)]);
        assert_eq!(
            due_date(date!(2026 - 11 - 29), 0, &holiday),
            date!(2026 - 12 - 01)
        );
    }

    #[test]
    fn the_deadline_is_the_end_of_the_day_in_vietnam() {
        assert_eq!(
            end_of_day(date!(2026 - 11 - 30)),
            datetime!(2026-11-30 16:59:59 UTC)
        );
        // 20:00 UTC on the 22nd is already the 23rd in Vietnam.
        assert_eq!(
            local_date(datetime!(2026-11-22 20:00 UTC)),
            date!(2026 - 11 - 23)
        );
    }
}
