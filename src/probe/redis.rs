//! Redis probe (placeholder until the protocol-level probe lands).
use crate::uri::Uri;
use crate::verdict::Verdict;
pub const DEFAULT_PORT: u16 = 6379;
#[derive(Debug)]
pub struct RedisTarget;
impl RedisTarget {
    pub fn from_uri(_uri: &Uri) -> Result<Self, String> {
        Err("redis targets are not supported yet".into())
    }
    pub async fn attempt(&self) -> Verdict {
        Verdict::failed("unsupported")
    }
}
