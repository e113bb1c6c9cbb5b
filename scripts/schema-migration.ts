// `npm run schema:migration`: writes the schema migration from supabase/schemas.
import { writeFile } from 'node:fs/promises';
import { renderSchemaMigration, SCHEMA_MIGRATION } from '../src/stack/schemaMigration.ts';

renderSchemaMigration()
  .then((text) => writeFile(SCHEMA_MIGRATION, text))
  .then(() => console.log(`wrote ${SCHEMA_MIGRATION}`));
