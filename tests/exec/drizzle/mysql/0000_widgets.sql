CREATE TABLE `widgets` (
	`id` int AUTO_INCREMENT NOT NULL,
	`name` text NOT NULL,
	CONSTRAINT `widgets_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
INSERT INTO `widgets` (`name`) VALUES ('from drizzle-kit');
