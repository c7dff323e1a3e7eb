/**
 * The compiled validator of hostVarsSchema. Under tsx (tests) ajv compiles it here; `npm run build`
 * replaces this module with ajv's standalone code for the same schema and options
 * (scripts/host-vars-validator-plugin.mjs), so the CLI neither loads nor runs ajv's compiler at start-up
 * (~50-150 ms of every command that reads an inventory).
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { AJV_OPTIONS, hostVarsSchema } from './host-vars-schema.js';

export const validateHostVars: ValidateFunction = new Ajv(AJV_OPTIONS).compile(hostVarsSchema);
