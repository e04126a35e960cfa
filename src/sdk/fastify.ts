import type { FastifyInstance, FastifyPluginCallback } from "fastify";
import type { TenureSdk } from "./tenure-sdk.js";

export interface TenureFastifyOptions {
  sdk: TenureSdk;
  /** Close the SDK (send what is buffered, for up to 5 s) when the server closes; default true. */
  closeWithServer?: boolean;
}

function tenurePlugin(
  app: FastifyInstance,
  options: TenureFastifyOptions,
  done: (error?: Error) => void,
): void {
  const { sdk } = options;
  sdk.start();
  app.addHook("onSend", function tenureStamp(_request, reply, payload, next) {
    sdk.stamp((name, value) => {
      if (!reply.hasHeader(name)) reply.header(name, value);
    });
    next(null, payload);
  });
  if (options.closeWithServer !== false) {
    app.addHook("onClose", function tenureClose(_app, next) {
      void sdk.close().then(() => next());
    });
  }
  done();
}

/**
 * Fastify (5) plugin: `app.register(tenureFastify, { sdk })`. Every answer carries the metadata
 * headers, 404s and errors included, and the SDK closes with the server. It marks itself
 * `skip-override`, as fastify-plugin would, so its hooks reach the routes of the instance that
 * registers it rather than staying inside the plugin's own encapsulated context.
 */
export const tenureFastify: FastifyPluginCallback<TenureFastifyOptions> = Object.assign(tenurePlugin, {
  [Symbol.for("skip-override")]: true,
  [Symbol.for("fastify.display-name")]: "tenure",
});
