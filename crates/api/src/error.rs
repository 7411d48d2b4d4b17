//! The error body every failure answers with.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every error answer: a machine-readable code and a description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"error": "invalid_request", "error_description": "missing field `email`"}))]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `invalid_request`, `invalid_token`,
    /// `insufficient_scope`, `invalid_grant`, `invalid_client`, `too_many_requests`.
    pub error: String,
    /// Human-readable description (never a secret).
    pub error_description: String,
}
