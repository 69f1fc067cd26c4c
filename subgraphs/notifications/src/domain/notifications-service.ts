/**
 * The notifications domain: stores what is sent to a user, once per event. The event consumers (order confirmed,
 * payment declined...) call {@link NotificationsService.notify} with a dedupe key naming the event, so a redelivered
 * event never notifies twice.
 */
import { parseInput } from "@ecom/service";
import type { NotificationRecord, NotificationsRepository } from "../datasources/notifications.ts";
import { notifyInputSchema, type NotifyInput } from "./validation.ts";

export type { NotifyInput };

/** Options of {@link NotificationsService.notify}. */
export interface NotifyOptions {
  /** When the notification was sent; defaults to now. Seeds set it to replay history. */
  at?: Date;
}

/** What {@link NotificationsService.notify} did. */
export interface NotifyResult {
  notification: NotificationRecord;
  /** False when the dedupe key had been used: the stored notification is returned unchanged. */
  created: boolean;
}

/** The dedupe key of the notification an event causes, e.g. `dedupeKeyFor("order-confirmed", orderId)`. */
export const dedupeKeyFor = (event: string, subjectId: string) => `${event}:${subjectId}`;

/** Sends (stores) notifications. Stateless: deduplication lives in the database (unique dedupe key). */
export class NotificationsService {
  constructor(private readonly notifications: NotificationsRepository) {}

  /**
   * Stores a notification for `userId` on `channel`. Idempotent by `dedupeKey`: the first notification stored under
   * a key wins, and later calls (concurrent ones included) return it with `created: false`, whatever they carry.
   * @throws BAD_USER_INPUT when a field is invalid (subject 1..200 characters, body 1..10000, key 1..255).
   */
  async notify(input: NotifyInput, options: NotifyOptions = {}): Promise<NotifyResult> {
    const data = parseInput(notifyInputSchema, input);
    return this.notifications.createOnce({ ...data, ...(options.at ? { createdAt: options.at } : {}) });
  }
}
