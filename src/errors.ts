/**
 * One typed error hierarchy, mapped to HTTP once by the error handler.
 * Only errors with `expose` set show their message to the user; anything
 * else becomes a plain 500 and is logged.
 */
export class AppError extends Error {
  readonly expose: boolean = true;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: the request itself is malformed (bad XML, missing parameter, oversized body). */
export class BadRequestError extends AppError {
  constructor(message: string, code = 'bad_request') {
    super(400, code, message);
  }
}

/** 401: a WeChat callback whose signature or timestamp does not check out, or a missing login. */
export class UnauthorizedError extends AppError {
  constructor(message: string, code = 'unauthorized') {
    super(401, code, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, code = 'forbidden') {
    super(403, code, message);
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not Found') {
    super(404, 'not_found', message);
  }
}

/** 409: a unique value (a phone number, say) already belongs to someone else. */
export class ConflictError extends AppError {
  constructor(message: string, code = 'conflict') {
    super(409, code, message);
  }
}

/** 422: well-formed input that fails validation (a wrong SMS code, a bad phone number). */
export class ValidationError extends AppError {
  constructor(message: string, code = 'invalid') {
    super(422, code, message);
  }
}

export class TooManyRequestsError extends AppError {
  constructor(message: string, code = 'too_many_requests') {
    super(429, code, message);
  }
}

/** 503: an upstream (WeChat's API, the database) is unavailable; the user should retry later. */
export class ServiceUnavailableError extends AppError {
  constructor(message: string, code = 'service_unavailable') {
    super(503, code, message);
  }
}
