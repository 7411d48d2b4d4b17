//! The audit log: what happened, to whom, from where. Writing is done by the
//! other services through the shared context; [`Audit`] reads it back.

use crate::ctx::Ctx;
use crate::error::Result;
use std::fmt;
use std::sync::Arc;
use tessera_store::{AuditFilter, AuditRecord};

/// Reading the audit log.
#[derive(Clone)]
pub struct Audit {
    ctx: Arc<Ctx>,
}

impl fmt::Debug for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Audit").finish_non_exhaustive()
    }
}

impl Audit {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Audit { ctx }
    }

    pub(crate) fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// The newest `limit` (clamped to 1 to 1000) events matching `filter`,
    /// newest first. A filter value with a NUL matches nothing.
    pub async fn search(&self, filter: &AuditFilter, limit: u32) -> Result<Vec<AuditRecord>> {
        let texts = [
            &filter.event,
            &filter.user_id,
            &filter.client_id,
            &filter.actor,
        ];
        if texts
            .iter()
            .any(|t| t.as_deref().is_some_and(|t| t.contains('\0')))
        {
            return Ok(Vec::new());
        }
        let limit = limit.clamp(1, 1000);
        Ok(self.ctx.store.audit_search(filter, limit).await?)
    }

    /// The newest `limit` events with an id below `before` (all when
    /// `None`), newest first.
    pub async fn before(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>> {
        Ok(self.ctx.store.audit_before(before, limit).await?)
    }

    /// Events with an id above `after`, oldest first.
    pub async fn after(&self, after: i64, limit: u32) -> Result<Vec<AuditRecord>> {
        Ok(self.ctx.store.audit_after(after, limit).await?)
    }
}
