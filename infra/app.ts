import { createApp } from './requeue-app';

// run by cdk.json; the app synthesizes itself when the process ends
createApp();
