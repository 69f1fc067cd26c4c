/**
 * How notifications leave the platform: one transport per channel (email, SMS, push), behind interfaces so that a
 * deployment plugs in its providers (an SMTP relay or an email API, an SMS gateway, a push service) without
 * touching the consumers. Every send carries an idempotency key (the notification id): a send retried after a
 * crash must not reach the user twice, so a transport passes the key to its provider (most accept one) or keeps
 * it itself, as the development transport does.
 */
import type { Channel } from "../datasources/notifications.ts";

/** Who a message goes to. */
export interface Recipient {
  userId: string;
  email: string;
  name: string;
}

/** One message to send. */
export interface OutgoingNotification {
  /** Stable across retries of the same notification: the provider's idempotency key. */
  idempotencyKey: string;
  channel: Channel;
  to: Recipient;
  subject: string;
  body: string;
}

/** What a transport reports. */
export interface SendResult {
  /** False when the idempotency key had been sent already (nothing was sent again). */
  sent: boolean;
}

/** Sends email. */
export interface EmailTransport {
  sendEmail(message: OutgoingNotification): Promise<SendResult>;
}

/** Sends text messages. */
export interface SmsTransport {
  sendSms(message: OutgoingNotification): Promise<SendResult>;
}

/** Sends push notifications. */
export interface PushTransport {
  sendPush(message: OutgoingNotification): Promise<SendResult>;
}

/** The transports of the three channels. */
export interface Transports {
  email: EmailTransport;
  sms: SmsTransport;
  push: PushTransport;
}

/** Sends `message` through the transport of its channel. */
export function sendThrough(transports: Transports, message: OutgoingNotification): Promise<SendResult> {
  switch (message.channel) {
    case "EMAIL":
      return transports.email.sendEmail(message);
    case "SMS":
      return transports.sms.sendSms(message);
    case "PUSH":
      return transports.push.sendPush(message);
    default: {
      const unexpected: never = message.channel;
      throw new Error(`Unknown channel ${String(unexpected)}`);
    }
  }
}

/** Where the development transport keeps what it sent (the notifications database's `development_messages`). */
export interface SentMessageStore {
  /** Stores the message unless its idempotency key is stored; resolves true when it was stored now. */
  storeOnce(message: OutgoingNotification): Promise<boolean>;
}

/**
 * The development transport of every channel: stores each message (once per idempotency key) and logs it, instead
 * of reaching a provider. `npm start` and the tests use it; read what was "sent" in `development_messages`.
 */
export function createDevelopmentTransports(options: {
  store: SentMessageStore;
  logger: { info(object: object, message: string): void };
}): Transports {
  const send = async (message: OutgoingNotification): Promise<SendResult> => {
    const sent = await options.store.storeOnce(message);
    options.logger.info(
      { channel: message.channel, to: message.to.email, subject: message.subject, idempotencyKey: message.idempotencyKey, sent },
      sent ? "development transport: message sent" : "development transport: already sent, not sent again",
    );
    return { sent };
  };
  return { email: { sendEmail: send }, sms: { sendSms: send }, push: { sendPush: send } };
}
