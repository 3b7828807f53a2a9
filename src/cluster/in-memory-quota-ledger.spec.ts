import { InMemoryQuotaLedger } from './in-memory-quota-ledger';
import { quotaLedgerContract } from './quota-ledger.contract';

describe(InMemoryQuotaLedger.name, () => {
  // One process holds one ledger: "replicas" of it are the same instance.
  quotaLedgerContract(() => ({
    ledgers: async (n) => {
      const ledger = new InMemoryQuotaLedger();
      return Array.from({ length: n }, () => ledger);
    },
  }));

  it('refuses numbers that cannot be right (a programming error)', async () => {
    const sut = new InMemoryQuotaLedger();
    await expect(sut.addTokens('alice', 1, -5)).rejects.toThrow(/tokens must be a whole number of at least 0, not -5/);
    await expect(sut.startTasks('alice', ['t'], 1, 1_000, 1.5)).rejects.toThrow(/max must be a whole number/);
  });
});
