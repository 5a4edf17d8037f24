//! Everything a use case may reach, in one cheap handle: the storage, the execution engine (and
//! through it the secret store), the host monitor and the team's time zone. The server builds
//! one at start-up; REST handlers and server functions pass it to every use case.

use crate::engine::Executor;
use crate::host::HostMonitor;
use crate::secrets::SecretStore;
use crate::Storage;

/// What the use cases work with. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    pub storage: Storage,
    /// The execution engine: queue, dispatcher, backends; also holds the secret store.
    pub executor: Executor,
    /// Reads the host for the Server view.
    pub host: HostMonitor,
    /// The team's time zone (`UHUB_TIMEZONE`): where the calendar's days begin.
    pub zone: chrono_tz::Tz,
    /// Password attempts per (address, username): logins and password changes.
    pub throttle: crate::auth::LoginThrottle,
    /// Started as a demonstration (`UHUB_SEED_DEMO=true`): demo accounts loaded later keep
    /// their published passwords.
    pub demo_instance: bool,
}

impl Hub {
    pub fn new(storage: Storage, executor: Executor, host: HostMonitor) -> Hub {
        Hub {
            storage,
            executor,
            host,
            zone: chrono_tz::Tz::UTC,
            throttle: crate::auth::LoginThrottle::default(),
            demo_instance: false,
        }
    }

    /// The providers' APIs (GitHub, GitLab).
    pub fn forges(&self) -> &crate::forge::Forges {
        self.executor.forges()
    }

    /// The bare mirrors of repository links (the engine checks runs' commits out of them).
    pub fn mirrors(&self) -> &crate::git_cli::Mirrors {
        self.executor.mirrors()
    }

    /// The same hub with the calendar in `zone`.
    pub fn with_zone(mut self, zone: chrono_tz::Tz) -> Hub {
        self.zone = zone;
        self
    }

    /// Where project secrets live (the database, sealed, or Vault).
    pub fn secrets(&self) -> &SecretStore {
        self.executor.secrets()
    }

    /// How the outside reaches this uHub (`UHUB_PUBLIC_URL`).
    pub fn public_url(&self) -> &str {
        self.executor.public_url()
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("storage", &self.storage)
            .field("zone", &self.zone)
            .finish_non_exhaustive()
    }
}
