/**
 * One typed error hierarchy, mapped to HTTP once by the error handler.
 * Only errors with `expose` set show their message to the user; anything
 * else becomes a plain 500 and is logged.
 */
import type { MessageKey, MessageParams } from './messages/catalogue.js';

export class AppError extends Error {
  readonly expose: boolean = true;

  /**
   * `code` names the message people are shown (a key of the catalogue, so a
   * code without a message does not compile); `params` fill its placeholders.
   */
  constructor(
    readonly status: number,
    readonly code: MessageKey,
    message: string,
    readonly params?: MessageParams,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: the request itself is malformed (bad XML, missing parameter, oversized body). */
export class BadRequestError extends AppError {
  constructor(message: string, code: MessageKey = 'bad_request', params?: MessageParams) {
    super(400, code, message, params);
  }
}

/** 401: a WeChat callback whose signature or timestamp does not check out, or a missing login. */
export class UnauthorizedError extends AppError {
  constructor(message: string, code: MessageKey = 'unauthorized', params?: MessageParams) {
    super(401, code, message, params);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, code: MessageKey = 'forbidden', params?: MessageParams) {
    super(403, code, message, params);
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not Found') {
    super(404, 'not_found', message);
  }
}

/** 409: a unique value (a phone number, say) already belongs to someone else. */
export class ConflictError extends AppError {
  constructor(message: string, code: MessageKey = 'conflict', params?: MessageParams) {
    super(409, code, message, params);
  }
}

/** 422: well-formed input that fails validation (a wrong SMS code, a bad phone number). */
export class ValidationError extends AppError {
  constructor(message: string, code: MessageKey = 'invalid', params?: MessageParams) {
    super(422, code, message, params);
  }
}

export class TooManyRequestsError extends AppError {
  constructor(message: string, code: MessageKey = 'too_many_requests', params?: MessageParams) {
    super(429, code, message, params);
  }
}

/** 503: an upstream (WeChat's API, the database) is unavailable; the user should retry later. */
export class ServiceUnavailableError extends AppError {
  constructor(message: string, code: MessageKey = 'service_unavailable', params?: MessageParams) {
    super(503, code, message, params);
  }
}
