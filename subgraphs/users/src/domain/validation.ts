import { z } from "@ecom/config";

/** Register input rules. Emails are compared in lower case. */
export const registerInputSchema = z.object({
  email: z
    .string()
    .trim()
    .max(254, "must be at most 254 characters")
    .pipe(z.email({ error: "must be a valid email address" }))
    .transform((e) => e.toLowerCase()),
  password: z.string().min(8, "must be at least 8 characters").max(128, "must be at most 128 characters"),
  name: z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters"),
});

export type RegisterInput = z.infer<typeof registerInputSchema>;
