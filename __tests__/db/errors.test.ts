// Every thrown error keeps its class name, its code and instanceof through the shared base.
import { CodedError } from '../../src/errors.ts';
import { OutboxError } from '../../src/outbox/index.ts';
import { SyncServiceError } from '../../src/service/BatchSyncService.ts';
import { DataServiceError } from '../../src/service/dataService.ts';

test.each([
  [new DataServiceError('CARD_DELETED', 'gone'), 'DataServiceError', 'CARD_DELETED'],
  [new SyncServiceError('OFFLINE', 'offline'), 'SyncServiceError', 'OFFLINE'],
  [new OutboxError('BATCH_EXISTS', 'again'), 'OutboxError', 'BATCH_EXISTS'],
])('%s', (error, name, code) => {
  expect(error).toBeInstanceOf(Error);
  expect(error).toBeInstanceOf(CodedError);
  expect(error.name).toBe(name);
  expect(error.code).toBe(code);
  expect(String(error)).toContain(name);
});
