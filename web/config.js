// @ts-check
/**
 * Where the API is. A page opened with `?api=https://…` keeps that base URL (localStorage) until another
 * is given; otherwise this default: `make run`'s API. Deployed, set it to the stage's API Gateway URL.
 */
export const DEFAULT_API_BASE_URL = "http://127.0.0.1:8000";
