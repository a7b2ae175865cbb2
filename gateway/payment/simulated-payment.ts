/**
 * The payment provider. Payments are simulated: a configurable latency, a configurable share of random
 * declines (for load tests), and `payment_ok: false` from the client as a declined card. The booking id
 * is the charge's idempotency key towards the provider.
 */
export interface PaymentRequest {
  readonly bookingId: string;
  readonly amountMinor: number;
  readonly paymentOk: boolean;
}

export interface PaymentGateway {
  /** Resolves true when the payment went through, false when it was declined. */
  charge(request: PaymentRequest): Promise<boolean>;
  /** Gives a charge back (a payment that finished after its hold was given up). */
  refund(bookingId: string): Promise<void>;
}

export class SimulatedPayment implements PaymentGateway {
  readonly #latencyMs: number;
  readonly #declineRate: number;
  readonly #random: () => number;

  constructor(options: { latencyMs: number; declineRate: number; random?: () => number }) {
    this.#latencyMs = options.latencyMs;
    this.#declineRate = options.declineRate;
    this.#random = options.random ?? Math.random;
  }

  async charge(request: PaymentRequest): Promise<boolean> {
    if (this.#latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#latencyMs));
    return request.paymentOk && this.#random() >= this.#declineRate;
  }

  async refund(): Promise<void> {
    if (this.#latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#latencyMs));
  }
}
