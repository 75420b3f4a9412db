//! [`Status`]: the state of a background response.

use std::fmt;
use std::str::FromStr;

use ycbg_sys as sys;

/// The state of a task.  `Completed`, `Failed`, `Cancelled` and
/// `Incomplete` are terminal: once there, `poll`, `wait` and `cancel`
/// return it without a network request.
///
/// (The C enum's `YC_STATUS_ERROR` is not a status here: a failed call is
/// an `Err(ycbg::Error)`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Queued,
    InProgress,
    Completed,
    Failed,
    Cancelled,
    Incomplete,
}

impl Status {
    /// Every status, in the C enum's order.
    pub const ALL: [Status; 6] =
        [Status::Queued, Status::InProgress, Status::Completed, Status::Failed, Status::Cancelled, Status::Incomplete];

    /// Whether the task has ended (completed, failed, cancelled, incomplete).
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Cancelled | Status::Incomplete)
    }

    /// The lower-case name the library and server use: `"queued"`,
    /// `"in_progress"`, `"completed"`, `"failed"`, `"cancelled"`,
    /// `"incomplete"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::Incomplete => "incomplete",
        }
    }

    /// The status for a C `yc_status` value; `None` for `YC_STATUS_ERROR`
    /// and values outside the enum.
    pub fn from_raw(raw: sys::yc_status) -> Option<Status> {
        Some(match raw {
            sys::YC_STATUS_QUEUED => Status::Queued,
            sys::YC_STATUS_IN_PROGRESS => Status::InProgress,
            sys::YC_STATUS_COMPLETED => Status::Completed,
            sys::YC_STATUS_FAILED => Status::Failed,
            sys::YC_STATUS_CANCELLED => Status::Cancelled,
            sys::YC_STATUS_INCOMPLETE => Status::Incomplete,
            _ => return None,
        })
    }

    /// The C `yc_status` value.
    pub fn to_raw(self) -> sys::yc_status {
        match self {
            Status::Queued => sys::YC_STATUS_QUEUED,
            Status::InProgress => sys::YC_STATUS_IN_PROGRESS,
            Status::Completed => sys::YC_STATUS_COMPLETED,
            Status::Failed => sys::YC_STATUS_FAILED,
            Status::Cancelled => sys::YC_STATUS_CANCELLED,
            Status::Incomplete => sys::YC_STATUS_INCOMPLETE,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown status name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownStatus(pub String);

impl fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown status {:?}", self.0)
    }
}

impl std::error::Error for UnknownStatus {}

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Status, UnknownStatus> {
        Status::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_names_round_trip() {
        for (i, st) in Status::ALL.into_iter().enumerate() {
            assert_eq!(st.to_raw(), i as i32);
            assert_eq!(Status::from_raw(st.to_raw()), Some(st));
            assert_eq!(st.as_str().parse::<Status>(), Ok(st));
            assert_eq!(st.to_string(), st.as_str());
        }
        assert_eq!(Status::from_raw(sys::YC_STATUS_ERROR), None);
        assert_eq!(Status::from_raw(6), None);
        assert!("error".parse::<Status>().is_err());
        assert!("paused".parse::<Status>().is_err());
    }

    #[test]
    fn terminal() {
        assert!(!Status::Queued.is_terminal());
        assert!(!Status::InProgress.is_terminal());
        assert!(Status::Completed.is_terminal());
        assert!(Status::Failed.is_terminal());
        assert!(Status::Cancelled.is_terminal());
        assert!(Status::Incomplete.is_terminal());
    }
}
