/** The project's folder, for tests that run its scripts and read its files. */
export { ROOT } from '../../local/launcher';
