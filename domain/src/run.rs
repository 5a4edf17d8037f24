//! Runs: one execution of a job.

crate::string_enum! {
    /// The life of a run, from the queue to its end.
    pub enum RunStatus ("run status") {
        Queued => "queued",
        AwaitingApproval => "awaiting_approval",
        Running => "running",
        Success => "success",
        Failed => "failed",
        Canceled => "canceled",
        TimedOut => "timed_out",
    }
}

impl RunStatus {
    /// A finished run never changes status again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Success | RunStatus::Failed | RunStatus::Canceled | RunStatus::TimedOut
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statuses_are_the_four_outcomes() {
        assert_eq!(RunStatus::ALL.iter().filter(|s| s.is_final()).count(), 4);
        assert!(!RunStatus::Running.is_final());
        assert_eq!(RunStatus::AwaitingApproval.as_str(), "awaiting_approval");
    }
}
