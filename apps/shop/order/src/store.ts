/** The order service's tables in its own schema (`order` by default). */
import type { SqlDb } from '@tsmesh/demo-kit';

export const ITEMS: Record<string, number> = { iPod: 42.0, 'iPod touch': 21.0, 'iPod nano': 1.0, 'Apple TV': 100.0 };

export interface OrderLine {
  item: string;
  count: number;
  price: number;
}

export interface Order {
  id: number;
  customer: string;
  shippingAddress: { street: string; zip: string; city: string };
  billingAddress: { street: string; zip: string; city: string };
  orderLine: OrderLine[];
  numberOfLines: number;
  totalPrice: number;
  updated: string;
  revenue?: number;
}

export interface NewOrder {
  customer: string;
  street: string;
  zip: string;
  city: string;
  lines: { item: string; count: number }[];
}

export async function migrate(db: SqlDb): Promise<void> {
  await db.exec(`
    CREATE TABLE IF NOT EXISTS orders (
      id serial PRIMARY KEY, customer text NOT NULL, street text NOT NULL, zip text NOT NULL, city text NOT NULL,
      updated timestamptz NOT NULL DEFAULT now());
    CREATE TABLE IF NOT EXISTS order_lines (
      order_id integer NOT NULL REFERENCES orders(id) ON DELETE CASCADE, item text NOT NULL, count integer NOT NULL,
      price numeric NOT NULL);`);
}

/** Field errors for a new order; empty when valid. */
export function validateOrder(o: NewOrder): string[] {
  const errors: string[] = [];
  if (!o.customer.trim()) errors.push('customer is required');
  if (!o.city.trim()) errors.push('city is required');
  if (o.lines.length === 0) errors.push('at least one order line is required');
  for (const l of o.lines) {
    if (!(l.item in ITEMS)) errors.push(`unknown item ${JSON.stringify(l.item)}`);
    if (!Number.isInteger(l.count) || l.count < 1) errors.push(`count for ${l.item} must be a positive integer`);
  }
  return errors;
}

export async function createOrder(db: SqlDb, o: NewOrder): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    'INSERT INTO orders (customer, street, zip, city) VALUES ($1, $2, $3, $4) RETURNING id',
    [o.customer, o.street, o.zip, o.city],
  );
  for (const l of o.lines)
    await db.query('INSERT INTO order_lines (order_id, item, count, price) VALUES ($1, $2, $3, $4)', [
      row.id,
      l.item,
      l.count,
      ITEMS[l.item],
    ]);
  return row.id;
}

interface OrderRow {
  id: number;
  customer: string;
  street: string;
  zip: string;
  city: string;
  updated: Date | string;
}

async function toOrder(db: SqlDb, r: OrderRow, withRevenue: boolean): Promise<Order> {
  const lines = await db.query<{ item: string; count: number; price: string | number }>(
    'SELECT item, count, price FROM order_lines WHERE order_id = $1 ORDER BY item',
    [r.id],
  );
  const orderLine = lines.map((l) => ({ item: l.item, count: Number(l.count), price: Number(l.price) }));
  const totalPrice = orderLine.reduce((s, l) => s + l.count * l.price, 0);
  const address = { street: r.street, zip: r.zip, city: r.city };
  const order: Order = {
    id: Number(r.id),
    customer: r.customer,
    shippingAddress: address,
    billingAddress: address,
    orderLine,
    numberOfLines: orderLine.length,
    totalPrice,
    updated: new Date(r.updated).toISOString(),
  };
  // The seed's point: bonus needs `revenue`, which order does not publish until someone changes it.
  if (withRevenue) order.revenue = totalPrice;
  return order;
}

export async function listOrders(db: SqlDb, withRevenue: boolean): Promise<Order[]> {
  const rows = await db.query<OrderRow>('SELECT * FROM orders ORDER BY id');
  return Promise.all(rows.map((r) => toOrder(db, r, withRevenue)));
}

export async function getOrder(db: SqlDb, id: number, withRevenue: boolean): Promise<Order | null> {
  const [row] = await db.query<OrderRow>('SELECT * FROM orders WHERE id = $1', [id]);
  return row ? toOrder(db, row, withRevenue) : null;
}

export async function deleteOrder(db: SqlDb, id: number): Promise<boolean> {
  return (await db.query('DELETE FROM orders WHERE id = $1 RETURNING id', [id])).length > 0;
}
