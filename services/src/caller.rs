//! Who is asking, for which request: the context every use case receives from its door. The
//! session middleware resolves it once per request ([`RequestContext`]); REST extractors and
//! server functions both turn it into a [`Caller`] the same way.

use std::fmt;
use std::net::IpAddr;

use domain::policy::{self, Action, Decision, Environment, Object, Subject};
use domain::Role;
use rand::RngCore;

use crate::storage::{Actor, UserRecord};
use crate::{ServiceError, ServiceResult};

/// One request's name in the logs (and in the `X-Request-Id` answer header): 16 random hex
/// digits, so a request can be followed from the access log through every use case it ran.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    pub fn new() -> RequestId {
        let mut bytes = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        RequestId(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RequestId {
    fn default() -> Self {
        RequestId::new()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The session a request carried, as the middleware found it.
#[derive(Debug, Clone)]
pub enum Session {
    /// No token was sent.
    Anonymous,
    /// A valid token of an active account.
    User(Box<UserRecord>),
    /// A token was sent but does not open a session (expired, forged, password changed,
    /// account deactivated): the words say why.
    Rejected(&'static str),
    /// The session could not be checked: the database did not answer.
    Unavailable,
}

/// What is known about a request before any handler runs, resolved once by the session
/// middleware and kept in the request's extensions (Leptos gives server functions the same
/// request parts).
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: RequestId,
    /// The TCP peer: no proxy header is trusted.
    pub client_ip: IpAddr,
    pub session: Session,
}

impl RequestContext {
    /// The signed-in user, if the request carried a valid session.
    pub fn user(&self) -> Option<&UserRecord> {
        match &self.session {
            Session::User(user) => Some(user),
            _ => None,
        }
    }

    /// The caller of a use case; accounts that must change their password first are refused
    /// (403 `password_change_required`) until they have.
    pub fn caller(&self) -> ServiceResult<Caller> {
        let caller = self.pending_caller()?;
        if caller.user.must_change_password {
            return Err(ServiceError::PasswordChangeRequired);
        }
        Ok(caller)
    }

    /// The caller even when their password must change first: for reading one's profile,
    /// changing the password and logging out.
    pub fn pending_caller(&self) -> ServiceResult<Caller> {
        match &self.session {
            Session::User(user) => Ok(Caller {
                role: user.role()?,
                user: (**user).clone(),
                client_ip: Some(self.client_ip),
                request_id: self.request_id.clone(),
            }),
            Session::Anonymous => Err(ServiceError::Unauthenticated(
                "log in first: no session token was sent",
            )),
            Session::Rejected(why) => Err(ServiceError::Unauthenticated(why)),
            Session::Unavailable => Err(ServiceError::Internal(
                "the session could not be checked: the database did not answer".to_owned(),
            )),
        }
    }
}

/// The signed-in user a use case acts for, with the request it came in.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserRecord,
    pub role: Role,
    pub client_ip: Option<IpAddr>,
    pub request_id: RequestId,
}

impl Caller {
    /// A caller outside any HTTP request (tests, background work acting for a user).
    pub fn acting_as(user: UserRecord) -> ServiceResult<Caller> {
        Ok(Caller {
            role: user.role()?,
            user,
            client_ip: None,
            request_id: RequestId::new(),
        })
    }

    pub fn id(&self) -> i64 {
        self.user.id
    }

    /// The caller as the policy sees them.
    pub fn subject(&self) -> Subject {
        Subject {
            user_id: self.user.id,
            role: self.role,
        }
    }

    /// The caller as the audit log records them.
    pub fn actor(&self) -> Actor {
        Actor::user(
            self.user.id,
            &self.user.username,
            self.client_ip.map(|ip| ip.to_string()),
        )
    }

    /// The policy's decision for the caller.
    pub fn decide(
        &self,
        action: Action,
        object: &Object,
        environment: Option<&Environment<'_>>,
    ) -> Decision {
        policy::may(&self.subject(), action, object, environment)
    }

    /// Refuses unless the policy allows the action outright (403 naming the rule).
    pub fn may(
        &self,
        action: Action,
        object: &Object,
        environment: Option<&Environment<'_>>,
    ) -> ServiceResult<()> {
        ServiceError::check(self.decide(action, object, environment))
    }
}
