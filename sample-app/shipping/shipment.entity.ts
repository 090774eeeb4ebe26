import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A parcel handed to the carrier: the warehouse packs one per row. */
@Entity('shipment')
export class Shipment {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column()
  orderId!: string;

  @Column()
  sku!: string;

  @Column('integer')
  quantity!: number;

  @Column()
  trackingNumber!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
