import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

/** Units on hand of one product. */
@Entity('stock')
@Check('"count" >= 0')
export class Stock {
  @PrimaryColumn()
  sku!: string;

  @Column('integer')
  count!: number;
}
