/**
 * Loads lambda/handlers/<name>.ts. The template literal lets esbuild bundle
 * every file of that folder, so a route added to the table needs nothing here.
 * Handlers read their settings when imported: set the environment first.
 */
export const loadHandler = async <T extends (...args: never[]) => unknown>(name: string): Promise<T> => {
  let module: { handler?: unknown };
  try {
    module = (await import(`../lambda/handlers/${name}.ts`)) as { handler?: unknown };
  } catch (error) {
    throw new Error(`Could not load the handler lambda/handlers/${name}.ts`, { cause: error });
  }
  if (typeof module.handler !== 'function') {
    throw new Error(`lambda/handlers/${name}.ts does not export a function named 'handler'`);
  }
  return module.handler as T;
};
