/**
 * Merchant categories and what people spend in them, in KZT major units: a coffee about 1,500, groceries about
 * 8,000, rent about 150,000. Amounts are log-normal around the median: most purchases are near it, a few far above.
 */

export interface MerchantCategory {
  mcc: string;
  name: string;
  medianAmount: number;
  /** Sigma of the amount's logarithm. */
  sigma: number;
  /** How common the category is among merchants and in an average customer's spending. */
  weight: number;
}

const category = (mcc: string, name: string, medianAmount: number, sigma: number, weight: number): MerchantCategory => ({ mcc, name, medianAmount, sigma, weight });

/** Card-present shops, cafés and services found in every city. */
export const POS_CATEGORIES: readonly MerchantCategory[] = [
  category('5411', 'grocery', 8000, 0.8, 30),
  category('5814', 'coffee and fast food', 1500, 0.5, 20),
  category('5812', 'restaurant', 7000, 0.6, 9),
  category('5541', 'fuel', 10000, 0.45, 8),
  category('5912', 'pharmacy', 4000, 0.7, 7),
  // Bus fares are tiny (~100–300 KZT): legitimate small amounts that a naive card-testing rule would flag.
  category('4111', 'transit', 200, 0.3, 6),
  category('5999', 'miscellaneous retail', 5000, 0.9, 5),
  category('5651', 'clothing', 20000, 0.7, 5),
  category('5311', 'department store', 15000, 0.8, 4),
  category('4121', 'taxi', 1800, 0.5, 3),
  category('7230', 'beauty and barber', 6000, 0.5, 2),
  category('5732', 'electronics', 60000, 1.0, 2),
  category('5200', 'home supply', 25000, 0.9, 1.5),
  category('7832', 'cinema', 3500, 0.3, 1.5),
];

/** Online merchants: no coordinates, card not present. */
export const ECOM_CATEGORIES: readonly MerchantCategory[] = [
  category('5399', 'marketplace', 12000, 1.0, 30),
  category('4121', 'ride hailing', 1800, 0.5, 15),
  category('4814', 'mobile top-up', 3000, 0.5, 15),
  category('5816', 'digital goods and games', 2500, 0.9, 10),
  category('5814', 'food delivery', 5000, 0.5, 10),
  category('4900', 'utilities', 12000, 0.6, 8),
  category('5651', 'clothing online', 20000, 0.7, 5),
  category('4511', 'airline', 90000, 0.6, 3),
  category('7011', 'hotel booking', 45000, 0.7, 2),
  category('5732', 'electronics online', 60000, 1.0, 2),
  category('6513', 'rent', 150000, 0.4, 1),
];

/** Categories fraudsters favour and ordinary customers rarely use: online only, a few merchants each. */
export const RISKY_ECOM_CATEGORIES: readonly MerchantCategory[] = [
  category('4829', 'money transfer', 60000, 0.8, 3),
  category('6051', 'crypto and quasi-cash', 80000, 0.9, 3),
  category('7995', 'gambling', 20000, 1.0, 2),
  category('8398', 'charity', 2000, 0.8, 1),
];

/** Rare big purchases, the legitimate look-alike of a fraudster's cash-out. */
export const BIG_PURCHASE_CATEGORIES: readonly MerchantCategory[] = [
  category('5722', 'household appliances', 180000, 0.6, 4),
  category('5732', 'electronics', 250000, 0.6, 4),
  category('5712', 'furniture', 220000, 0.6, 2),
  category('5944', 'jewelry', 150000, 0.8, 1),
];

export const ATM_MCC = '6011';
export const ATM_MEDIAN_WITHDRAWAL = 20000;

/** ATM withdrawals are round: a multiple of 1,000 KZT, at least 2,000. */
export function roundWithdrawal(amount: number): number {
  return Math.max(2000, Math.round(amount / 1000) * 1000);
}

/** Whole tenge: card payments in KZT rarely carry tiyn. */
export function roundTenge(amount: number): number {
  return Math.max(1, Math.round(amount));
}
