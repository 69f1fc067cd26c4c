/**
 * The demo data set: users, categories, products, stock and orders, with ids derived deterministically from natural
 * keys (email, slug, SKU). Each service seeds only its own part through its own data layer, and the parts
 * join across services because the ids agree. Pure data, no I/O.
 */
import { demoId } from "./ids.ts";
import { buildDemoOrders, type DemoOrder } from "./orders.ts";

export { demoId };
export type { DemoOrder, DemoOrderItem, DemoOrderEvent } from "./orders.ts";

/** Password of every demo user (API.md). */
export const DEMO_PASSWORD = "password123";

export interface DemoUser {
  id: string;
  email: string;
  name: string;
  role: "CUSTOMER" | "ADMIN";
}

export const demoUsers: readonly DemoUser[] = [
  { email: "alice@example.com", name: "Alice Martin", role: "CUSTOMER" as const },
  { email: "bob@example.com", name: "Bob Chen", role: "CUSTOMER" as const },
  { email: "admin@example.com", name: "Ada Admin", role: "ADMIN" as const },
].map((u) => ({ ...u, id: demoId("user", u.email) }));

export interface DemoCategory {
  id: string;
  slug: string;
  name: string;
}

export interface DemoProduct {
  id: string;
  sku: string;
  name: string;
  description: string;
  /** Minor units (cents). */
  priceAmount: number;
  currency: string;
  categoryId: string;
  /** Units in stock at seed time. */
  stock: number;
}

interface CategoryTemplate {
  slug: string;
  name: string;
  /** Kinds of product: [noun, base price in cents, description of what it is for]. */
  kinds: Array<[string, number, string]>;
  /** Qualities combined with kinds to name products. */
  qualities: string[];
}

const templates: CategoryTemplate[] = [
  {
    slug: "electronics",
    name: "Electronics",
    kinds: [
      ["Wireless Headphones", 12900, "over-ear headphones with active noise cancelling and 30-hour battery life"],
      ["Bluetooth Speaker", 7900, "a portable speaker, water resistant, with deep bass for the outdoors"],
      ["USB-C Charger", 2900, "a fast GaN charger that powers a laptop and a phone at once"],
      ["Mechanical Keyboard", 10900, "a tenkeyless keyboard with hot-swappable tactile switches"],
      ["4K Monitor", 34900, "a 27-inch IPS display with accurate colors for photo editing"],
    ],
    qualities: ["Aurora", "Pulse", "Nimbus", "Vector", "Quantum"],
  },
  {
    slug: "books",
    name: "Books",
    kinds: [
      ["Cookbook", 2900, "a hardcover cookbook of seasonal recipes with step-by-step photos"],
      ["Mystery Novel", 1499, "a page-turning detective story set in a snowed-in mountain hotel"],
      ["Field Guide", 2499, "a pocket guide to birds and trees, illustrated in color"],
      ["Programming Handbook", 4999, "a practical handbook on distributed systems and microservices"],
      ["Travel Journal", 1899, "a dotted travel journal with maps and packing lists"],
    ],
    qualities: ["Classic", "Illustrated", "Pocket", "Collector's", "Revised"],
  },
  {
    slug: "home-kitchen",
    name: "Home & Kitchen",
    kinds: [
      ["Chef's Knife", 8900, "a forged stainless steel knife that stays sharp through daily cooking"],
      ["Cast Iron Skillet", 4500, "a pre-seasoned skillet that goes from stovetop to oven"],
      ["Pour-Over Coffee Set", 3900, "a glass dripper and kettle for a clean, bright cup of coffee"],
      ["Linen Bedding Set", 15900, "stonewashed linen sheets that get softer with every wash"],
      ["Ceramic Dinnerware", 6900, "a twelve-piece set of handmade ceramic plates and bowls"],
    ],
    qualities: ["Nordic", "Artisan", "Everyday", "Heritage", "Studio"],
  },
  {
    slug: "sports-outdoors",
    name: "Sports & Outdoors",
    kinds: [
      ["Trail Running Shoes", 11900, "grippy trail shoes with a rock plate and breathable mesh"],
      ["Camping Tent", 24900, "a two-person tent that pitches in five minutes and sheds heavy rain"],
      ["Yoga Mat", 3900, "a non-slip natural rubber mat with alignment lines"],
      ["Insulated Water Bottle", 2900, "a steel bottle that keeps drinks cold for 24 hours"],
      ["Hiking Backpack", 13900, "a 40-litre pack with a ventilated back panel and rain cover"],
    ],
    qualities: ["Summit", "Ridge", "Trek", "Alpine", "Coastal"],
  },
  {
    slug: "toys-games",
    name: "Toys & Games",
    kinds: [
      ["Board Game", 3999, "a cooperative strategy game for two to five players"],
      ["Building Blocks Set", 5999, "a 600-piece building set with a city theme"],
      ["Jigsaw Puzzle", 1999, "a 1000-piece puzzle of a hand-painted landscape"],
      ["Remote Control Car", 4999, "a fast off-road car with a rechargeable battery"],
      ["Plush Toy", 1599, "a soft, washable plush toy safe from birth"],
    ],
    qualities: ["Galaxy", "Jungle", "Ocean", "Castle", "Robot"],
  },
  {
    slug: "beauty",
    name: "Beauty & Personal Care",
    kinds: [
      ["Face Moisturizer", 2400, "a light daily moisturizer with hyaluronic acid for all skin types"],
      ["Shampoo Bar", 1200, "a plastic-free shampoo bar with rosemary and mint"],
      ["Electric Toothbrush", 6900, "a sonic toothbrush with a pressure sensor and travel case"],
      ["Sunscreen SPF 50", 1800, "a mineral sunscreen that leaves no white cast"],
      ["Beard Oil", 1600, "a nourishing oil with argan and cedarwood"],
    ],
    qualities: ["Botanical", "Pure", "Daily", "Sensitive", "Fresh"],
  },
  {
    slug: "fashion",
    name: "Fashion",
    kinds: [
      ["Wool Sweater", 8900, "a merino wool sweater knitted in a relaxed fit"],
      ["Rain Jacket", 12900, "a packable waterproof jacket with taped seams"],
      ["Leather Wallet", 4900, "a slim full-grain leather wallet with RFID blocking"],
      ["Canvas Sneakers", 6500, "low-top canvas sneakers with a cushioned insole"],
      ["Silk Scarf", 5500, "a printed silk scarf with hand-rolled edges"],
    ],
    qualities: ["Urban", "Vintage", "Essential", "Tailored", "Weekend"],
  },
  {
    slug: "garden",
    name: "Garden",
    kinds: [
      ["Pruning Shears", 2900, "bypass pruners with hardened steel blades for clean cuts"],
      ["Raised Garden Bed", 11900, "a cedar raised bed for vegetables and herbs"],
      ["Watering Can", 2500, "a galvanized watering can with a fine rose"],
      ["Seed Starter Kit", 1900, "a kit of biodegradable pots, soil and heirloom seeds"],
      ["Solar Garden Lights", 3500, "a set of six warm-white solar path lights"],
    ],
    qualities: ["Meadow", "Orchard", "Greenhouse", "Cottage", "Terrace"],
  },
  {
    slug: "office",
    name: "Office",
    kinds: [
      ["Ergonomic Chair", 29900, "an office chair with adjustable lumbar support and armrests"],
      ["Standing Desk", 45900, "an electric height-adjustable desk with memory presets"],
      ["Desk Lamp", 4900, "an LED lamp with adjustable color temperature"],
      ["Fountain Pen", 3500, "a steel-nib fountain pen with a converter for bottled ink"],
      ["Notebook Pack", 1500, "three A5 notebooks with lay-flat binding"],
    ],
    qualities: ["Executive", "Focus", "Studio", "Compact", "Pro"],
  },
];

/** Deterministic pseudo-random numbers (mulberry32), so that the catalog is the same on every machine. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const demoCategories: readonly DemoCategory[] = templates.map((t) => ({
  id: demoId("category", t.slug),
  slug: t.slug,
  name: t.name,
}));

function buildProducts(): DemoProduct[] {
  const random = seededRandom(20261127);
  const products: DemoProduct[] = [];
  templates.forEach((t, ci) => {
    const categoryId = demoCategories[ci]!.id;
    t.kinds.forEach(([kind, basePrice, purpose], ki) => {
      t.qualities.forEach((quality, qi) => {
        const sku = `${t.slug.slice(0, 3).toUpperCase()}-${String(ki + 1).padStart(2, "0")}${String(qi + 1).padStart(2, "0")}`;
        // Price varies +-30% around the kind's base, rounded to .99 / .00 endings like a real shop.
        const factor = 0.7 + random() * 0.6;
        const raw = Math.round((basePrice * factor) / 100) * 100;
        const priceAmount = Math.max(99, raw - (random() < 0.5 ? 1 : 0));
        // A few products are sold out, most have a healthy stock.
        const stock = random() < 0.08 ? 0 : Math.floor(5 + random() * 195);
        products.push({
          id: demoId("product", sku),
          sku,
          name: `${quality} ${kind}`,
          description: `The ${quality} ${kind.toLowerCase()}: ${purpose}.`,
          priceAmount,
          currency: "USD",
          categoryId,
          stock,
        });
      });
    });
  });
  return products;
}

/** 225 products in 9 categories. */
export const demoProducts: readonly DemoProduct[] = buildProducts();

/**
 * The demo orders (orders subgraph), all CONFIRMED after a complete checkout: 3 for alice, 2 for bob. Payments
 * seeds one CAPTURED payment per order from the same definitions (amount = totalAmount, at = capturedAt).
 */
export const demoOrders: readonly DemoOrder[] = buildDemoOrders(demoUsers, demoProducts);
