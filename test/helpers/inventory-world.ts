import { afterAll, beforeAll } from 'vitest';
import { buildTestApp, closeCheckingInventory, type TestApp } from './build-test-app.js';
import { registerAndLogin, type TestUser } from './factories.js';

/** The statement tests' world: the real app on a fresh database, an event owner and `buyers` buyers. */
export interface InventoryWorld {
  t: TestApp;
  owner: TestUser;
  users: TestUser[];
}

/** Registers the file's beforeAll/afterAll (the inventory is checked at the end); filled in before the first test. */
export function useInventoryWorld(buyers = 4): InventoryWorld {
  const world = {} as InventoryWorld;
  beforeAll(async () => {
    world.t = await buildTestApp();
    world.owner = await registerAndLogin(world.t.app);
    world.users = await Promise.all(Array.from({ length: buyers }, () => registerAndLogin(world.t.app)));
  });
  afterAll(() => closeCheckingInventory(world.t));
  return world;
}
