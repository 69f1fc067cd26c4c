/**
 * The error `promise` rejects with, once `guard` recognizes it: for a test that goes on to check the error's
 * fields (`codes`, `status`). Fails when the promise resolves; any other error is thrown as it is, so that the test
 * shows it.
 *
 * @example const wrong = await rejectionOf(client.request(LoginDocument, bad), isGraphQLRequestError);
 */
export async function rejectionOf<E>(promise: Promise<unknown>, guard: (error: unknown) => error is E): Promise<E> {
  try {
    await promise;
  } catch (error) {
    if (guard(error)) return error;
    throw error;
  }
  throw new Error("expected the request to fail");
}
