//! The webhook delivery log, for the application's backend: what was sent,
//! how it went, and sending one again.

use uploadgate_api::{DeliveryState, WebhookDelivery};

use super::{UploadError, Uploads};
use crate::db::{self, Delivery, DeliveryFilter, Listed};

impl Uploads {
    /// Deliveries matching `filter`, newest first.
    pub async fn deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Listed<WebhookDelivery>, UploadError> {
        let fetch = DeliveryFilter {
            page: filter.page.with_one_more(),
            ..filter.clone()
        };
        let found = self.db.webhooks().deliveries(&fetch).await?;
        let listed = filter.page.cut(found, |d| d.id.clone());
        Ok(Listed {
            items: listed.items.into_iter().map(delivery_record).collect(),
            next_cursor: listed.next_cursor,
        })
    }

    /// Queues delivery `id` again, now, with the same `webhook-id` (the
    /// receiver drops it if it had it).
    pub async fn redeliver(&self, id: &str) -> Result<WebhookDelivery, UploadError> {
        let delivery = self
            .db
            .webhooks()
            .redeliver(id, db::now())
            .await?
            .ok_or(UploadError::NoSuch("delivery"))?;
        self.work.notify_waiters();
        Ok(delivery_record(delivery))
    }
}

fn delivery_record(delivery: Delivery) -> WebhookDelivery {
    WebhookDelivery {
        next_attempt_at: (delivery.state == DeliveryState::Pending)
            .then_some(delivery.next_attempt_at),
        id: delivery.id,
        event: delivery.event,
        upload_id: delivery.upload_id,
        state: delivery.state,
        attempts: delivery.attempts,
        last_status: delivery.last_status,
        last_error: delivery.last_error,
        last_attempt_at: delivery.last_attempt_at,
        created_at: delivery.created_at,
    }
}
