"""One retry loop for every TaurusDB operation, with each operation's own decisions as a :class:`Plan`.

The loop (:func:`run`) sends, classifies the outcome and waits by the :class:`RetryPolicy`:

- 429, 5xx, timeouts and connection errors are retried; other answers are final;
- a *safe* operation (a read) is simply sent again;
- an *unsafe* one (create, delete: no idempotency key) is never sent again blindly. When its
  outcome is unknown (a 5xx, or a transport failure after the request may have been written) the
  plan first looks up what happened (:meth:`Plan.find`) and the request is sent at most once more,
  only if it certainly did not take effect (DESIGN.md §6). A 429 or a refused connection committed
  nothing, so those are retried like a read.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import ClassVar, Generic, TypeVar

import httpx

from bot.cloud.errors import ApiError, CloudError, TransportError, parse_error_body
from bot.cloud.retry import RetryPolicy, parse_retry_after

log = logging.getLogger("bot.cloud.client")

T = TypeVar("T")

# Nothing reached the server: always safe to try again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The request may have been received (and a create committed) before the answer was lost.
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.CloseError,
)


def retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def transport_error(exc: httpx.HTTPError) -> TransportError:
    error = TransportError(f"{type(exc).__name__}: {exc}", maybe_sent=not isinstance(exc, _NOT_SENT))
    if not isinstance(exc, _NOT_SENT + _MAYBE_SENT):
        # Bad URL, proxy or protocol misuse: a configuration problem that retrying will not fix.
        error.retryable = False
    return error


def api_error(response: httpx.Response) -> ApiError:
    code, msg = parse_error_body(response.content)
    return ApiError(response.status_code, code, msg, response.headers.get("X-Request-Id", ""))


class Plan(Generic[T]):
    """One operation's decisions inside :func:`run`. The default is a read: its answer as is."""

    #: A lost answer may mean it took effect (create, delete): resolve by :meth:`find` first.
    unsafe: ClassVar[bool] = False

    def success(self, response: httpx.Response) -> T:
        """The result of a 2xx answer."""
        raise NotImplementedError

    async def find(self) -> T | None:
        """(unsafe plans) What an attempt with an unknown outcome did: its result if it took
        effect, None if it certainly did not. Any :class:`CloudError` means "cannot tell"."""
        raise NotImplementedError

    async def refused_again(self, error: ApiError) -> T | None:
        """(unsafe plans) A final refusal of the one resend: the result if the refusal shows that
        the first attempt took effect after all (a "busy" answer to our own create), else None."""
        return None

    async def settle(self, cause: CloudError) -> T | None:
        """:meth:`find`, re-raising ``cause`` when the lookup itself fails."""
        try:
            return await self.find()
        except CloudError as lookup_error:
            raise cause from lookup_error


class Read(Plan[httpx.Response]):
    def success(self, response: httpx.Response) -> httpx.Response:
        return response


READ = Read()


async def run(
    policy: RetryPolicy, operation: str, send: Callable[[], Awaitable[httpx.Response]], plan: Plan[T]
) -> T:
    """Send until ``plan`` has a result or the policy's attempts or time budget run out.

    ``send`` makes one HTTP exchange; it raises :class:`TransportError` for transport failures, and
    the :class:`CloudError` of a failed auth flow (an IAM error: nothing reached TaurusDB).
    """
    started = policy.clock()
    attempt = 0
    resent = False
    while True:
        attempt += 1
        retry_after: float | None = None
        unknown = False
        error: CloudError
        try:
            response = await send()
        except ApiError as exc:  # the auth flow's IAM call failed before anything was sent
            if not retryable_status(exc.status):
                raise
            error = exc
        except TransportError as exc:
            if plan.unsafe and exc.maybe_sent:
                unknown = True
            elif not exc.retryable:
                raise
            error = exc
        else:
            if response.is_success:
                return plan.success(response)
            refusal = api_error(response)
            error = refusal
            if plan.unsafe and response.status_code >= 500:
                unknown = True
            elif retryable_status(response.status_code):
                # A 429 is the gateway's refusal before the service saw it: nothing was committed.
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            else:
                if resent and (found := await plan.refused_again(refusal)) is not None:
                    return found
                raise refusal
        if unknown:
            if (found := await plan.settle(error)) is not None:
                log.warning("taurusdb %s had no clear answer but took effect; using that", operation)
                return found
            if resent:
                raise error
            resent = True
        wait = policy.delay(attempt, retry_after)
        if not policy.allows(attempt, started, wait):
            raise error
        log.info("taurusdb %s attempt %d failed (%s); retrying in %.2fs", operation, attempt, error, wait)
        await policy.sleep(wait)
