/** The folder holding the project's package.json. */
export declare const projectRoot: () => string;
/** Bundle `entry` into `outfile` (both relative to the project) unless it is up to date; resolves to its full path. */
export declare const bundleOnDemand: (entry: string, outfile: string) => Promise<string>;
